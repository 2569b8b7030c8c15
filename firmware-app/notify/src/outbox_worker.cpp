// OutboxWorker: see the header for the state machine. Every state change is
// its own short write transaction; the relay is only ever called with no
// transaction open, so a slow relay never blocks the API's writes.
#include "resetd/notify/outbox_worker.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

#include "text_util.h"

namespace resetd::notify {
namespace {

constexpr int kBatch = 20;
constexpr int kMaxRoundsPerPass = 50;             // bounds one run_once()
constexpr std::chrono::milliseconds kTick{1000};  // wait granularity
constexpr int64_t kRecheckMs = 5000;              // rows queued without wake() are seen this soon
constexpr int64_t kExpireSweepMs = 10 * 60 * 1000;

thread_local bool tl_in_worker_thread = false;

void log_line(const std::string& line) {
  std::string l = "notify: " + line + "\n";
  std::fwrite(l.data(), 1, l.size(), stderr);
  std::fflush(stderr);
}

void wipe(std::string& s) {
  std::fill(s.begin(), s.end(), '\0');
  s.clear();
}

void log_outcome(const storage::OutboxRecord& m, const std::string& via) {
  // Never the body: it may hold the password or link. The answer is the
  // relay's, which never echoes the body.
  log_line("id=" + std::to_string(m.id) + " kind=" + m.kind + " state=" + m.state +
           " attempts=" + std::to_string(m.attempts) + (via.empty() ? "" : " via " + via) +
           " answer=\"" + m.last_answer + "\"");
}

// Final outcomes only (sent, failed, expired), in the same transaction as the
// state: retries are not audited one by one, to spare the flash.
void audit_outcome(storage::Writer& w, const storage::OutboxRecord& m, int64_t at) {
  storage::AuditRecord a;
  a.at = at;
  a.actor = "system";
  a.action = "notification_" + m.state;
  a.target = m.recipient;
  a.outcome = m.state == "sent" ? "ok" : "failed";
  a.detail = "notification " + std::to_string(m.id) + " (" + m.kind + "), attempts " +
             std::to_string(m.attempts) + ": " + m.last_answer;
  w.append_audit(a);
}

}  // namespace

bool give_up_after(int attempts) {
  // Sum of the nominal (unjittered) delays scheduled so far: 48 h of trying,
  // counted in attempts rather than read off a wall clock that may jump.
  int64_t total = 0;
  for (int i = 1; i <= attempts; ++i) {
    total += backoff_delay_s(i, 0.5);
    if (total >= kGiveUpAfterS) return true;
  }
  return false;
}

int64_t backoff_delay_s(int attempts, double jitter01) {
  int64_t base = 30;
  for (int i = 1; i < attempts && base < 3600; ++i) base *= 2;
  base = std::min<int64_t>(base, 3600);
  if (!(jitter01 >= 0.0)) jitter01 = 0.0;  // also catches NaN
  jitter01 = std::min(jitter01, 1.0);
  double factor = 0.8 + 0.4 * jitter01;
  return static_cast<int64_t>(std::llround(static_cast<double>(base) * factor));
}

OutboxWorker::OutboxWorker(storage::Store& store, const Clock& clock, const crypto::SecretBox& box,
                           std::shared_ptr<Relay> relay, std::string from)
    : store_(store),
      clock_(clock),
      box_(box),
      relay_(std::move(relay)),
      from_(std::move(from)),
      rng_(std::random_device{}()) {}

OutboxWorker::~OutboxWorker() { stop(); }

void OutboxWorker::start() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (thread_.joinable()) return;
  }
  try {
    const int64_t now = clock_.now();
    int64_t requeued = 0;
    store_.write([&](storage::Writer& w) { requeued = w.requeue_sending(now); });
    if (requeued > 0) {
      log_line("requeued " + std::to_string(requeued) + " message(s) left in sending");
    }
  } catch (const std::exception& ex) {
    log_line(std::string("requeue at start failed: ") + ex.what());
  }
  std::lock_guard<std::mutex> lk(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  woken_ = false;
  thread_ = std::thread([this] { loop(); });
}

void OutboxWorker::stop() {
  std::thread t;
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
    t = std::move(thread_);
  }
  cv_.notify_all();
  if (t.joinable()) t.join();
}

void OutboxWorker::wake() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void OutboxWorker::set_relay(std::shared_ptr<Relay> relay, std::string from) {
  std::lock_guard<std::mutex> lk(mu_);
  relay_ = std::move(relay);
  from_ = std::move(from);
}

bool OutboxWorker::is_due(const storage::OutboxRecord& m, int64_t now, int64_t mono) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = due_mono_.find(m.id);
  if (it != due_mono_.end() && it->second.first == m.next_attempt_at) return mono >= it->second.second;
  // First sight of this schedule (new message, manual retry, or a restart):
  // the stored wall time only seeds a monotonic deadline, at most one
  // backoff step away, so a wall clock that jumps cannot hold a message back.
  const int64_t wait_s = std::min<int64_t>(m.next_attempt_at - now, 3600);
  if (wait_s <= 0) {
    due_mono_.erase(m.id);
    return true;
  }
  due_mono_[m.id] = {m.next_attempt_at, mono + wait_s * 1000};
  return false;
}

int OutboxWorker::run_once() {
  int handled = 0;
  // Answers the relay already gave come first; while storage still refuses
  // them, sending more would only pile up answers that can't be recorded.
  if (!record_kept_results()) return handled;
  for (int round = 0; round < kMaxRoundsPerPass; ++round) {
    std::vector<storage::OutboxRecord> queued, due;
    const int64_t now = clock_.now();
    const int64_t mono = clock_.mono_ms();
    // Every queued row, soonest first; readiness is decided on the monotonic clock.
    store_.read([&](storage::Reader& r) {
      queued = r.outbox_due(std::numeric_limits<int64_t>::max(), kBatch * kMaxRoundsPerPass);
    });
    for (auto& m : queued)
      if (is_due(m, now, mono)) due.push_back(std::move(m));
    if (due.size() > static_cast<size_t>(kBatch)) due.resize(kBatch);
    for (auto& m : due) {
      {
        std::lock_guard<std::mutex> lk(mu_);
        // stop() finishes the message in hand only; a direct caller runs the pass.
        if (stop_ && tl_in_worker_thread) return handled;
      }
      deliver_one(std::move(m));
      ++handled;
      {
        std::lock_guard<std::mutex> lk(mu_);
        if (!unrecorded_.empty()) return handled;  // storage refuses: send nothing more
      }
    }
    if (due.size() < static_cast<size_t>(kBatch)) break;
  }
  return handled;
}

void OutboxWorker::loop() {
  tl_in_worker_thread = true;
  std::optional<int64_t> last_sweep_ms;
  while (true) {
    bool stopping = false;
    {
      std::lock_guard<std::mutex> lk(mu_);
      stopping = stop_;
      woken_ = false;
    }
    if (stopping) {
      // Last chance for kept answers; what still fails is requeued at the
      // next start and sent again (at-least-once, same Message-ID).
      try {
        record_kept_results();
      } catch (const std::exception&) {
      }
      return;
    }
    bool failed = false;
    try {
      const int64_t mono = clock_.mono_ms();
      if (!last_sweep_ms || mono - *last_sweep_ms >= kExpireSweepMs) {
        last_sweep_ms = mono;
        const int64_t now = clock_.now();
        int64_t n = 0;
        store_.write([&](storage::Writer& w) { n = w.expire_secret_messages(now); });
        if (n > 0) log_line("expired " + std::to_string(n) + " message(s) whose secret ran out");
      }
      run_once();
    } catch (const std::exception& ex) {
      log_line(std::string("outbox pass failed: ") + ex.what());
      failed = true;
    }

    std::unique_lock<std::mutex> lk(mu_);
    int64_t waited_ms = 0;
    while (!stop_ && !woken_ && waited_ms < kRecheckMs) {
      // After a failure, always pause a tick rather than spin on a due row.
      if (!failed && waited_ms > 0 && any_due_locked(clock_.mono_ms())) break;
      cv_.wait_for(lk, kTick);
      waited_ms += kTick.count();
      failed = false;
    }
  }
}

bool OutboxWorker::any_due_locked(int64_t mono) const {
  if (!unrecorded_.empty()) return true;  // retry recording at the next tick
  for (const auto& [id, d] : due_mono_)
    if (mono >= d.second) return true;
  return false;
}

void OutboxWorker::deliver_one(storage::OutboxRecord m) {
  enum class Claim { Skip, Ended, Send };
  Claim claim = Claim::Skip;
  storage::OutboxRecord cur;
  std::string plaintext;
  const int64_t now = clock_.now();

  // The claim is not synced to flash (see Store::write_unsynced): lost in a
  // power cut, the message is simply queued again and sent with the same
  // Message-ID — what a durable "sending" gives after a restart too
  // (requeue_sending). The reset that queued it and the outcome written after
  // the relay answered stay synced.
  store_.write_unsynced([&](storage::Writer& w) {
    claim = Claim::Skip;
    auto row = w.outbox_by_id(m.id);
    // Superseded, retried or taken by another pass since it was listed.
    if (!row || row->state != "queued") return;
    cur = std::move(*row);
    if (cur.carries_secret) {
      if (cur.secret_expires_at && *cur.secret_expires_at <= now) {
        cur.state = "expired";
        cur.body.clear();
        cur.last_answer = "not sent: the secret expired before delivery";
        w.update_outbox(cur);
        audit_outcome(w, cur, now);
        claim = Claim::Ended;
        return;
      }
      std::optional<std::string> opened;
      if (!cur.body.empty()) opened = box_.open(cur.body);
      if (!opened) {
        cur.state = "expired";
        cur.body.clear();
        cur.last_answer = "not sent: the message cannot be decrypted (secret key changed)";
        w.update_outbox(cur);
        audit_outcome(w, cur, now);
        claim = Claim::Ended;
        return;
      }
      plaintext = std::move(*opened);
    } else {
      plaintext = cur.body;
    }
    cur.state = "sending";
    cur.attempts += 1;
    w.update_outbox(cur);
    claim = Claim::Send;
  });
  if (claim == Claim::Skip) return;
  if (claim == Claim::Ended) {
    log_outcome(cur, "");
    return;
  }

  std::shared_ptr<Relay> relay;
  {
    std::lock_guard<std::mutex> lk(mu_);
    relay = relay_;
  }
  Envelope env;
  env.id = cur.id;
  env.kind = cur.kind;
  env.to = cur.recipient;
  env.subject = cur.subject;
  env.body = std::move(plaintext);
  env.message_id = cur.message_id;
  env.created_at = cur.created_at;
  env.date = now;

  DeliveryResult res;
  std::string via;
  if (!relay) {
    res = {Outcome::Temporary, "no relay configured"};
  } else {
    via = relay->describe();
    try {
      res = relay->deliver(env);
    } catch (const std::exception& ex) {
      res = {Outcome::Temporary, std::string("relay error: ") + ex.what()};
    } catch (...) {
      res = {Outcome::Temporary, "relay error"};
    }
  }
  wipe(env.body);
  res.answer = detail::one_line(res.answer, 500);
  if (res.answer.empty()) res.answer = "(no answer)";

  Unrecorded u;
  u.result = std::move(res);
  u.done_at = clock_.now();
  u.via = via;
  {
    std::lock_guard<std::mutex> lk(mu_);
    u.jitter = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
  }
  record_result(cur.id, u);
}

bool OutboxWorker::record_result(int64_t id, const Unrecorded& u) {
  const DeliveryResult& res = u.result;
  const int64_t done_at = u.done_at;
  storage::OutboxRecord cur;
  int64_t delay_s = 0;
  bool gave_up = false;
  bool found = false;
  try {
    store_.write([&](storage::Writer& w) {
      found = false;
      gave_up = false;
      auto row = w.outbox_by_id(id);
      if (!row) return;  // deleted meanwhile
      found = true;
      cur = std::move(*row);
      cur.last_answer = res.answer;
      if (res.outcome == Outcome::Sent) {
        // Even if it was superseded meanwhile: the mail has left, say so.
        cur.state = "sent";
        cur.body.clear();
        cur.sent_at = done_at;
      } else if (cur.state != "sending") {
        // Superseded or expired while in flight: that state stands.
      } else if (res.outcome == Outcome::Permanent) {
        cur.state = "failed";
      } else if (give_up_after(cur.attempts)) {
        cur.state = "failed";
        gave_up = true;
      } else {
        cur.state = "queued";
        delay_s = backoff_delay_s(cur.attempts, u.jitter);
        cur.next_attempt_at = done_at + delay_s;
      }
      w.update_outbox(cur);
      // A supersede is audited by the reset that made it (accounts' apply_reset),
      // also of a message caught in flight: not a second time here.
      if (cur.state != "queued" && cur.state != "superseded") audit_outcome(w, cur, done_at);
    });
  } catch (const storage::StorageError& ex) {
    std::lock_guard<std::mutex> lk(mu_);
    const bool first = unrecorded_.emplace(id, u).second;
    if (first)
      log_line("id=" + std::to_string(id) + ": could not record the relay's answer (" + ex.what() +
               "); kept in memory, retrying every second. answer=\"" + res.answer + "\"");
    return false;
  }
  {
    std::lock_guard<std::mutex> lk(mu_);
    unrecorded_.erase(id);
    if (found && cur.state == "queued")
      due_mono_[cur.id] = {cur.next_attempt_at, clock_.mono_ms() + delay_s * 1000};
    else
      due_mono_.erase(id);
  }
  if (found) log_outcome(cur, u.via + (gave_up ? " (gave up after 48 h)" : ""));
  return true;
}

bool OutboxWorker::record_kept_results() {
  std::vector<std::pair<int64_t, Unrecorded>> kept;
  {
    std::lock_guard<std::mutex> lk(mu_);
    kept.assign(unrecorded_.begin(), unrecorded_.end());
  }
  for (const auto& [id, u] : kept) {
    if (!record_result(id, u)) return false;  // storage still refuses: try again later
    log_line("id=" + std::to_string(id) + ": the kept relay answer is recorded now");
  }
  return true;
}

}  // namespace resetd::notify
