#include "resetd/accounts/throttle.h"

namespace resetd::accounts {

int64_t RateLimiter::retry_after(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) return 0;
  const int64_t now = clock_.mono_ms();
  Bucket& b = it->second;
  if (now - b.window_start_ms >= window_ms_) return 0;
  if (b.count < limit_) return 0;
  return (b.window_start_ms + window_ms_ - now + 999) / 1000;
}

void RateLimiter::hit(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = clock_.mono_ms();
  if (buckets_.size() >= max_keys_ && !buckets_.count(key)) {
    // drop expired buckets, then the oldest one if still full
    for (auto it = buckets_.begin(); it != buckets_.end();)
      it = (now - it->second.window_start_ms >= window_ms_) ? buckets_.erase(it) : std::next(it);
    if (buckets_.size() >= max_keys_) {
      auto oldest = buckets_.begin();
      for (auto it = buckets_.begin(); it != buckets_.end(); ++it)
        if (it->second.window_start_ms < oldest->second.window_start_ms) oldest = it;
      buckets_.erase(oldest);
    }
  }
  Bucket& b = buckets_[key];
  if (b.count == 0 || now - b.window_start_ms >= window_ms_) {
    b.window_start_ms = now;
    b.count = 0;
  }
  ++b.count;
}

int64_t RateLimiter::take(const std::string& key) {
  int64_t wait = retry_after(key);
  if (wait == 0) hit(key);
  return wait;
}

void RateLimiter::clear(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  buckets_.erase(key);
}

}  // namespace resetd::accounts
