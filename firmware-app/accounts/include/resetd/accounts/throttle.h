// In-memory rate limiting keyed by client address or username. Thread-safe.
// Bounded: at most `max_keys` keys are tracked; the oldest are dropped.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

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
  // Gives back one event taken with take() (an attempt that turned out fine).
  void give_back(const std::string& key);
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

// Consecutive failed sign-ins per username, timed on the monotonic clock: no
// delay for the first 3 failures, then 1, 2, 4 ... 60 s between attempts, and
// a lockout of `lockout_s` at every `lockout_every`-th failure. Unknown and
// known usernames are treated alike. Thread-safe; at most `max_keys` tracked.
class SignInThrottle {
 public:
  SignInThrottle(const Clock& clock, int lockout_every, int64_t lockout_s, size_t max_keys = 10000)
      : clock_(clock), every_(lockout_every), lockout_ms_(lockout_s * 1000), max_keys_(max_keys) {}
  // seconds until the next attempt is allowed (0 = now)
  int64_t wait_s(const std::string& user);
  // records a failure; returns the consecutive count and whether it locked
  std::pair<int, bool> failed(const std::string& user);

  // An attempt reserved before its password is verified: counted as a failure
  // at once, under the lock, so parallel attempts see each other and get no
  // more verifications than sequential ones. `allowed` false = wait `wait_s`.
  struct Reservation {
    bool allowed = false;
    int64_t wait_s = 0;
    int failures = 0;     // the consecutive count including this attempt
    bool locked = false;  // this attempt started a lockout
  };
  Reservation reserve(const std::string& user);
  // The reserved attempt was never verified (hasher busy): undo it.
  void release(const std::string& user, const Reservation& r);
  void clear(const std::string& user);
  // After a restart: re-arms what the database remembers (no-op when tracked).
  void seed(const std::string& user, int failures, int64_t locked_for_s);
  static int64_t delay_after_s(int failures);

 private:
  struct State {
    int failures = 0;
    int64_t last_fail_ms = 0;
    int64_t locked_until_ms = 0;
  };
  void make_room_locked();
  int64_t wait_locked(const std::string& user, int64_t now) const;
  const Clock& clock_;
  int every_;
  int64_t lockout_ms_;
  size_t max_keys_;
  std::mutex mu_;
  std::map<std::string, State> state_;
};

}  // namespace resetd::accounts
