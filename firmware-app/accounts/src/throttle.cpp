#include "resetd/accounts/throttle.h"

#include <algorithm>

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

void RateLimiter::give_back(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = buckets_.find(key);
  if (it != buckets_.end() && it->second.count > 0) --it->second.count;
}

void RateLimiter::clear(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  buckets_.erase(key);
}

int64_t SignInThrottle::delay_after_s(int failures) {
  if (failures < 3) return 0;
  return std::min<int64_t>(int64_t{1} << std::min(failures - 3, 6), 60);
}

int64_t SignInThrottle::wait_locked(const std::string& user, int64_t now) const {
  auto it = state_.find(user);
  if (it == state_.end()) return 0;
  const State& st = it->second;
  int64_t until = std::max(st.locked_until_ms, st.last_fail_ms + delay_after_s(st.failures) * 1000);
  return until > now ? (until - now + 999) / 1000 : 0;
}

int64_t SignInThrottle::wait_s(const std::string& user) {
  std::lock_guard<std::mutex> lock(mu_);
  return wait_locked(user, clock_.mono_ms());
}

SignInThrottle::Reservation SignInThrottle::reserve(const std::string& user) {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = clock_.mono_ms();
  Reservation r;
  r.wait_s = wait_locked(user, now);
  if (r.wait_s > 0) return r;
  if (!state_.count(user)) make_room_locked();
  State& st = state_[user];
  st.failures += 1;
  st.last_fail_ms = now;
  r.locked = st.failures % every_ == 0;
  if (r.locked) st.locked_until_ms = now + lockout_ms_;
  r.allowed = true;
  r.failures = st.failures;
  return r;
}

void SignInThrottle::release(const std::string& user, const Reservation& r) {
  if (!r.allowed) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = state_.find(user);
  if (it == state_.end()) return;
  State& st = it->second;
  if (st.failures > 0) st.failures -= 1;
  if (r.locked) st.locked_until_ms = 0;
  if (st.failures == 0 && st.locked_until_ms == 0) state_.erase(it);
}

void SignInThrottle::make_room_locked() {
  if (state_.size() < max_keys_) return;
  const int64_t now = clock_.mono_ms();
  // Forget the quietest: unlocked entries whose last failure is oldest.
  auto victim = state_.end();
  for (auto it = state_.begin(); it != state_.end(); ++it) {
    if (it->second.locked_until_ms > now) continue;
    if (victim == state_.end() || it->second.last_fail_ms < victim->second.last_fail_ms) victim = it;
  }
  state_.erase(victim != state_.end() ? victim : state_.begin());
}

std::pair<int, bool> SignInThrottle::failed(const std::string& user) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!state_.count(user)) make_room_locked();
  State& st = state_[user];
  const int64_t now = clock_.mono_ms();
  st.failures += 1;
  st.last_fail_ms = now;
  const bool locked = st.failures % every_ == 0;
  if (locked) st.locked_until_ms = now + lockout_ms_;
  return {st.failures, locked};
}

void SignInThrottle::clear(const std::string& user) {
  std::lock_guard<std::mutex> lock(mu_);
  state_.erase(user);
}

void SignInThrottle::seed(const std::string& user, int failures, int64_t locked_for_s) {
  std::lock_guard<std::mutex> lock(mu_);
  if (failures <= 0 || state_.count(user)) return;
  make_room_locked();
  State& st = state_[user];
  const int64_t now = clock_.mono_ms();
  st.failures = failures;
  st.last_fail_ms = now;
  if (locked_for_s > 0) st.locked_until_ms = now + std::min(locked_for_s * 1000, lockout_ms_);
}

}  // namespace resetd::accounts
