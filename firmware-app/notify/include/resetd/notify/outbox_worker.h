// OutboxWorker: one background thread that delivers due outbox messages
// through the current relay, at least once, one message per recipient.
// Thread-safe: start/stop/wake/set_relay may be called from any thread.
//
// Per message: queued -> sending (committed) -> deliver -> sent (body erased,
// sent_at set) | queued again with next_attempt_at = now + backoff (Temporary)
// | failed (Permanent, or 48 h after created_at). last_answer always holds the
// relay's answer. Readiness and giving up use the monotonic clock and the
// attempt count, never a difference of wall times. A secret-carrying body whose secret_expires_at has passed is
// never sent: the message becomes expired and its body is erased. A body that
// cannot be decrypted (key lost after a restore) -> expired.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <thread>

#include "resetd/common/clock.h"
#include "resetd/crypto/crypto.h"
#include "resetd/notify/relay.h"
#include "resetd/storage/store.h"

namespace resetd::notify {

// Backoff after the n-th failed attempt (n >= 1): 30 s * 2^(n-1), capped at
// 3600 s, then jittered by a factor in [0.8, 1.2] from `jitter01` in [0, 1).
int64_t backoff_delay_s(int attempts, double jitter01);
// True once the nominal backoff of `attempts` failed attempts adds up to 48 h:
// the message is given up (failed). Counted in attempts, not wall time, so a
// clock that jumps (NTP on a board without RTC) neither ends nor stretches it.
bool give_up_after(int attempts);

constexpr int64_t kGiveUpAfterS = 48 * 3600;

class OutboxWorker {
 public:
  OutboxWorker(storage::Store& store, const Clock& clock, const crypto::SecretBox& box,
               std::shared_ptr<Relay> relay, std::string from);
  ~OutboxWorker();  // stops

  void start();   // requeues 'sending' rows, then starts the thread
  void stop();    // finishes the message in hand, then joins
  void wake();    // something new is due: look now
  void set_relay(std::shared_ptr<Relay> relay, std::string from);
  // Process every due message once on the calling thread (tests, CLI).
  int run_once();

 private:
  void loop();
  void deliver_one(storage::OutboxRecord m);
  // The relay's answer for a claimed ('sending') row, kept in memory until
  // the write that records it succeeds (disk full, database locked by another
  // process): a claimed row is never left orphaned while the process runs.
  struct Unrecorded {
    DeliveryResult result;
    int64_t done_at = 0;
    double jitter = 0;
    std::string via;
  };
  // Records it; false (and logged) when storage refused.
  bool record_result(int64_t id, const Unrecorded& u);
  // Retries every kept answer; false while some are still unrecorded.
  bool record_kept_results();
  // Readiness on the monotonic clock; see outbox_worker.cpp.
  bool is_due(const storage::OutboxRecord& m, int64_t now, int64_t mono);
  bool any_due_locked(int64_t mono) const;
  storage::Store& store_;
  const Clock& clock_;
  const crypto::SecretBox& box_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::shared_ptr<Relay> relay_;
  std::string from_;
  bool stop_ = false;
  bool woken_ = false;
  std::thread thread_;
  std::mt19937_64 rng_;
  // id -> (next_attempt_at it was scheduled with, monotonic ms when due)
  std::map<int64_t, std::pair<int64_t, int64_t>> due_mono_;
  std::map<int64_t, Unrecorded> unrecorded_;  // guarded by mu_
};

}  // namespace resetd::notify
