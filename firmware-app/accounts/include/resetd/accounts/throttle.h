// In-memory rate limiting keyed by client address or username. Thread-safe.
// Bounded: at most `max_keys` keys are tracked; the oldest are dropped.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "resetd/common/clock.h"

namespace resetd::accounts {

// A sliding window: at most `limit` events per `window_s`; check() says how
// long to wait (0 = allowed now) without recording; hit() records one event.
class RateLimiter {
 public:
  RateLimiter(const Clock& clock, int limit, int window_s, size_t max_keys = 10000)
      : clock_(clock), limit_(limit), window_ms_(int64_t{window_s} * 1000), max_keys_(max_keys) {}
  // seconds to wait before the next event is allowed (0 = now)
  int64_t retry_after(const std::string& key);
  void hit(const std::string& key);
  // check + hit in one step; returns the wait (0 = allowed and recorded)
  int64_t take(const std::string& key);
  void clear(const std::string& key);

 private:
  struct Bucket {
    int64_t window_start_ms = 0;
    int count = 0;
  };
  const Clock& clock_;
  int limit_;
  int64_t window_ms_;
  size_t max_keys_;
  std::mutex mu_;
  std::map<std::string, Bucket> buckets_;
};

}  // namespace resetd::accounts
