// OutboxWorker with a scripted fake relay, a real Store in a temp dir and a
// ManualClock.
#include "resetd/notify/outbox_worker.h"

#include <fcntl.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <deque>

#include "resetd/common/clock.h"
#include "resetd/crypto/crypto.h"
#include "resetd/storage/store.h"
#include "test_support.h"

using namespace resetd;
using namespace resetd::notify;
using notify_test::TempDir;
using storage::OutboxRecord;

namespace {

constexpr int64_t kT0 = 1'800'000'000;
const std::string kSecretBody = "Temporary password: Xq7-secret-Pw9\n";

class FakeRelay final : public Relay {
 public:
  DeliveryResult deliver(const Envelope& e) override {
    std::lock_guard<std::mutex> lk(mu_);
    seen_.push_back(e);
    if (throw_next_) {
      throw_next_ = false;
      throw std::runtime_error("socket exploded");
    }
    if (script_.empty()) return {Outcome::Sent, "250 2.0.0 Ok: queued as FAKE1"};
    DeliveryResult r = script_.front();
    script_.pop_front();
    return r;
  }
  std::string describe() const override { return "fake"; }

  void then(Outcome o, std::string answer) {
    std::lock_guard<std::mutex> lk(mu_);
    script_.push_back({o, std::move(answer)});
  }
  void throw_once() {
    std::lock_guard<std::mutex> lk(mu_);
    throw_next_ = true;
  }
  size_t calls() {
    std::lock_guard<std::mutex> lk(mu_);
    return seen_.size();
  }
  Envelope last() {
    std::lock_guard<std::mutex> lk(mu_);
    return seen_.back();
  }

 private:
  std::mutex mu_;
  std::deque<DeliveryResult> script_;
  std::vector<Envelope> seen_;
  bool throw_next_ = false;
};

struct WorkerFixture {
  // Members are built in order: the store must exist before the worker.
  static std::unique_ptr<storage::Store> open_store(const std::string& dir) {
    if (!crypto::init()) throw std::runtime_error("sodium_init failed");
    return storage::Store::open(dir);
  }

  OutboxRecord secret_message() {
    OutboxRecord m;
    m.kind = "password";
    m.recipient = "ayse@example.org";
    m.locale = "tr-TR";
    m.subject = "Yeni parolanız";
    m.body = box.seal(kSecretBody);
    m.carries_secret = true;
    m.secret_expires_at = clock.now() + 72 * 3600;
    m.state = "queued";
    m.next_attempt_at = clock.now();
    m.message_id = "msg-" + std::to_string(++seq) + "@appliance.local";
    m.created_at = clock.now();
    return m;
  }

  int64_t add(const OutboxRecord& m) {
    int64_t id = 0;
    store->write([&](storage::Writer& w) { id = w.insert_outbox(m); });
    return id;
  }

  OutboxRecord get(int64_t id) {
    std::optional<OutboxRecord> r;
    store->read([&](storage::Reader& rd) { r = rd.outbox_by_id(id); });
    BOOST_TEST_REQUIRE(r.has_value());
    return *r;
  }

  // Polls (bounded) until the row reaches `state`; for the threaded tests.
  bool wait_state(int64_t id, const std::string& state) {
    for (int i = 0; i < 250; ++i) {
      if (get(id).state == state) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  TempDir dir;
  std::unique_ptr<storage::Store> store = open_store(dir.path());
  ManualClock clock{kT0};
  crypto::SecretBox box{std::string(32, 'k')};
  std::shared_ptr<FakeRelay> relay = std::make_shared<FakeRelay>();
  OutboxWorker worker{*store, clock, box, relay, "IT Helpdesk <it@appliance.local>"};
  int seq = 0;
};

// Captures what the worker writes to stderr while alive.
class StderrCapture {
 public:
  explicit StderrCapture(const std::string& path) : path_(path) {
    std::fflush(stderr);
    saved_ = ::dup(2);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(fd, 2);
    ::close(fd);
  }
  ~StderrCapture() { restore(); }
  std::string finish() {
    restore();
    return notify_test::read_file(path_);
  }

 private:
  void restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    ::dup2(saved_, 2);
    ::close(saved_);
    saved_ = -1;
  }
  std::string path_;
  int saved_ = -1;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(backoff)

BOOST_AUTO_TEST_CASE(backoff_delay_s_middle_jitter_doubles_from_30_to_a_3600_cap) {
  const int64_t want[] = {30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600};
  for (int n = 1; n <= 10; ++n) {
    BOOST_TEST(backoff_delay_s(n, 0.5) == want[n - 1], "attempt " << n);
  }
  BOOST_TEST(backoff_delay_s(1000, 0.5) == 3600);
}

BOOST_AUTO_TEST_CASE(backoff_delay_s_jitter_stays_within_20_percent) {
  for (int n = 1; n <= 12; ++n) {
    const int64_t base = std::min<int64_t>(int64_t{30} << (n - 1), 3600);
    for (double j : {0.0, 0.1, 0.25, 0.5, 0.75, 0.999999}) {
      int64_t d = backoff_delay_s(n, j);
      BOOST_TEST(d >= base * 8 / 10, "n=" << n << " j=" << j);
      BOOST_TEST(d <= base * 12 / 10, "n=" << n << " j=" << j);
    }
    BOOST_TEST(backoff_delay_s(n, 0.0) == base * 8 / 10);
    BOOST_TEST(backoff_delay_s(n, 0.0) < backoff_delay_s(n, 0.9));
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(outbox_worker, WorkerFixture)

BOOST_AUTO_TEST_CASE(run_once_sent_delivers_plaintext_and_erases_body) {
  int64_t id = add(secret_message());
  clock.advance(5);
  BOOST_TEST(worker.run_once() == 1);
  BOOST_TEST_REQUIRE(relay->calls() == 1u);
  Envelope e = relay->last();
  BOOST_TEST(e.id == id);
  BOOST_TEST(e.body == kSecretBody);
  BOOST_TEST(e.to == "ayse@example.org");
  BOOST_TEST(e.subject == "Yeni parolanız");
  BOOST_TEST(e.message_id == "msg-1@appliance.local");
  BOOST_TEST(e.created_at == kT0);
  BOOST_TEST(e.date == kT0 + 5);

  OutboxRecord m = get(id);
  BOOST_TEST(m.state == "sent");
  BOOST_TEST(m.body.empty());
  BOOST_TEST_REQUIRE(m.sent_at.has_value());
  BOOST_TEST(*m.sent_at == kT0 + 5);
  BOOST_TEST(m.attempts == 1);
  BOOST_TEST(m.last_answer == "250 2.0.0 Ok: queued as FAKE1");

  BOOST_TEST(worker.run_once() == 0);
  BOOST_TEST(relay->calls() == 1u);
}

BOOST_AUTO_TEST_CASE(run_once_plain_notice_is_sent_as_stored) {
  OutboxRecord n = secret_message();
  n.kind = "notice";
  n.carries_secret = false;
  n.secret_expires_at.reset();
  n.body = "Your password was reset by admin.\n";
  int64_t id = add(n);
  worker.run_once();
  BOOST_TEST_REQUIRE(relay->calls() == 1u);
  BOOST_TEST(relay->last().body == "Your password was reset by admin.\n");
  BOOST_TEST(get(id).state == "sent");
}

BOOST_AUTO_TEST_CASE(run_once_temporary_requeues_with_growing_backoff) {
  int64_t id = add(secret_message());
  const std::string sealed = get(id).body;
  relay->then(Outcome::Temporary, "451 4.3.0 try later");
  relay->then(Outcome::Temporary, "451 4.3.0 still later");
  worker.run_once();
  OutboxRecord m = get(id);
  BOOST_TEST(m.state == "queued");
  BOOST_TEST(m.attempts == 1);
  BOOST_TEST(m.last_answer == "451 4.3.0 try later");
  BOOST_TEST(m.next_attempt_at >= kT0 + 24);
  BOOST_TEST(m.next_attempt_at <= kT0 + 36);
  BOOST_TEST(m.body == sealed);  // still encrypted, not erased

  worker.run_once();  // not due yet
  BOOST_TEST(relay->calls() == 1u);

  clock.advance(m.next_attempt_at - kT0);
  const int64_t second = clock.now();
  worker.run_once();
  BOOST_TEST(relay->calls() == 2u);
  m = get(id);
  BOOST_TEST(m.state == "queued");
  BOOST_TEST(m.attempts == 2);
  BOOST_TEST(m.last_answer == "451 4.3.0 still later");
  BOOST_TEST(m.next_attempt_at >= second + 48);
  BOOST_TEST(m.next_attempt_at <= second + 72);

  clock.advance(m.next_attempt_at - second);
  worker.run_once();
  m = get(id);
  BOOST_TEST(m.state == "sent");
  BOOST_TEST(m.attempts == 3);
}

BOOST_AUTO_TEST_CASE(run_once_permanent_fails_with_the_relay_answer) {
  int64_t id = add(secret_message());
  relay->then(Outcome::Permanent, "550 5.1.1 <ayse@example.org>: Recipient address rejected");
  worker.run_once();
  OutboxRecord m = get(id);
  BOOST_TEST(m.state == "failed");
  BOOST_TEST(m.attempts == 1);
  BOOST_TEST(m.last_answer == "550 5.1.1 <ayse@example.org>: Recipient address rejected");
  clock.advance(7200);
  worker.run_once();
  BOOST_TEST(relay->calls() == 1u);
}

BOOST_AUTO_TEST_CASE(run_once_finalOutcomes_areAuditedRetriesAreNot) {
  int64_t ok_id = add(secret_message());
  int64_t bad_id = add(secret_message());
  relay->then(Outcome::Sent, "250 2.0.0 Ok: queued as A1");
  relay->then(Outcome::Temporary, "451 4.3.0 later");
  worker.run_once();
  auto count = [&](const std::string& action) {
    int64_t n = 0;
    store->read([&](storage::Reader& r) {
      storage::AuditQuery q;
      q.action = action;
      n = r.audit_count(q);
    });
    return n;
  };
  BOOST_TEST(get(ok_id).state == "sent");
  BOOST_TEST(count("notification_sent") == 1);
  BOOST_TEST(count("notification_queued") == 0);  // a retry is not an outcome
  relay->then(Outcome::Permanent, "550 5.1.1 no such user");
  clock.advance(60);
  worker.run_once();
  BOOST_TEST(get(bad_id).state == "failed");
  BOOST_TEST(count("notification_failed") == 1);
  std::vector<storage::AuditRecord> rows;
  store->read([&](storage::Reader& r) { rows = r.audit_list({}); });
  BOOST_REQUIRE(!rows.empty());
  BOOST_TEST(rows.front().detail.find("550 5.1.1 no such user") != std::string::npos);
  for (const auto& a : rows) BOOST_TEST(a.detail.find(kSecretBody) == std::string::npos);
}

BOOST_AUTO_TEST_CASE(give_up_after_48hOfNominalBackoff_only) {
  int last_kept = 0;
  while (!give_up_after(last_kept + 1)) ++last_kept;
  int64_t total = 0;
  for (int i = 1; i <= last_kept; ++i) total += backoff_delay_s(i, 0.5);
  BOOST_TEST(total < kGiveUpAfterS);
  BOOST_TEST(total + backoff_delay_s(last_kept + 1, 0.5) >= kGiveUpAfterS);
  BOOST_TEST(last_kept > 40);  // 30 s doubling to 1 h, then hourly: about two days
  BOOST_TEST(!give_up_after(0));
}

BOOST_AUTO_TEST_CASE(run_once_temporary_at_48hOfAttempts_fails_and_before_requeues) {
  int n = 1;
  while (!give_up_after(n)) ++n;  // the n-th failed attempt ends it
  OutboxRecord old_msg = secret_message();
  old_msg.attempts = n - 1;  // this pass makes attempt n
  int64_t old_id = add(old_msg);
  OutboxRecord young = secret_message();
  young.attempts = n - 2;
  int64_t young_id = add(young);
  relay->then(Outcome::Temporary, "421 4.4.2 timeout");
  relay->then(Outcome::Temporary, "421 4.4.2 timeout again");
  BOOST_TEST(worker.run_once() == 2);
  OutboxRecord a = get(old_id), b = get(young_id);
  BOOST_TEST(a.state == "failed");
  BOOST_TEST(a.last_answer == "421 4.4.2 timeout");
  BOOST_TEST(b.state == "queued");
  BOOST_TEST(b.last_answer == "421 4.4.2 timeout again");
}

BOOST_AUTO_TEST_CASE(run_once_wallClockJumpsForward_neitherGivesUpNorSendsEarly) {
  int64_t id = add(secret_message());
  relay->then(Outcome::Temporary, "451 4.3.0 try later");
  relay->then(Outcome::Temporary, "451 4.3.0 still later");
  worker.run_once();
  BOOST_TEST(get(id).state == "queued");
  clock.jump_wall(49 * 3600);  // NTP corrects a board that booted in the past
  worker.run_once();
  BOOST_TEST(relay->calls() == 1u);  // the backoff runs on the monotonic clock
  clock.advance_ms(40 * 1000);
  worker.run_once();
  BOOST_TEST(relay->calls() == 2u);
  BOOST_TEST(get(id).state == "queued");  // 49 h of wall time are not 48 h of trying
}

BOOST_AUTO_TEST_CASE(run_once_wallClockJumpsBack_doesNotHoldMessageBack) {
  int64_t id = add(secret_message());
  relay->then(Outcome::Temporary, "451 4.3.0 try later");
  worker.run_once();
  clock.jump_wall(-24 * 3600);
  clock.advance_ms(40 * 1000);
  worker.run_once();
  BOOST_TEST(relay->calls() == 2u);
  BOOST_TEST(get(id).state == "sent");
}

BOOST_AUTO_TEST_CASE(run_once_expired_secret_is_expired_without_calling_relay) {
  OutboxRecord m = secret_message();
  m.secret_expires_at = clock.now() + 60;
  int64_t id = add(m);
  clock.advance(61);
  worker.run_once();
  BOOST_TEST(relay->calls() == 0u);
  OutboxRecord got = get(id);
  BOOST_TEST(got.state == "expired");
  BOOST_TEST(got.body.empty());
  BOOST_TEST(!got.last_answer.empty());
}

BOOST_AUTO_TEST_CASE(run_once_undecryptable_body_is_expired_without_calling_relay) {
  OutboxRecord m = secret_message();
  crypto::SecretBox other(std::string(32, 'z'));
  m.body = other.seal(kSecretBody);  // e.g. restored without the old secret.key
  int64_t id = add(m);
  worker.run_once();
  BOOST_TEST(relay->calls() == 0u);
  OutboxRecord got = get(id);
  BOOST_TEST(got.state == "expired");
  BOOST_TEST(got.body.empty());
}

// A Store that refuses the next `fail_writes` writes as a locked database
// would (another process holding BEGIN IMMEDIATE past the busy timeout).
class FlakyStore final : public storage::Store {
 public:
  explicit FlakyStore(storage::Store& inner) : inner_(inner) {}
  void read(const std::function<void(storage::Reader&)>& fn) override { inner_.read(fn); }
  void write(const std::function<void(storage::Writer&)>& fn) override {
    if (fail_writes > 0) {
      --fail_writes;
      throw storage::StorageError(storage::StorageError::Kind::Busy, "sqlite: database is locked");
    }
    inner_.write(fn);
  }
  void write_unsynced(const std::function<void(storage::Writer&)>& fn) override {
    if (fail_writes > 0) {
      --fail_writes;
      throw storage::StorageError(storage::StorageError::Kind::Busy, "sqlite: database is locked");
    }
    inner_.write_unsynced(fn);
  }
  void backup_to(const std::string& path) override { inner_.backup_to(path); }
  std::string integrity_check() override { return inner_.integrity_check(); }
  int schema_version() override { return inner_.schema_version(); }
  int fail_writes = 0;

 private:
  storage::Store& inner_;
};

// The relay answers, then the write recording it is refused: the answer is
// kept and recorded by the next pass, the row never stays 'sending', and
// nothing is sent twice.
BOOST_AUTO_TEST_CASE(run_once_answer_kept_when_recording_it_fails_and_recorded_later) {
  FlakyStore flaky(*store);
  OutboxWorker w(flaky, clock, box, relay, "IT Helpdesk <it@appliance.local>");
  int64_t id = add(secret_message());
  int64_t other = add(secret_message());
  // claim (write 1) succeeds; recording the answer (write 2) is refused
  struct ArmAfterClaim final : public Relay {
    FlakyStore& f;
    std::shared_ptr<FakeRelay> inner;
    ArmAfterClaim(FlakyStore& fs, std::shared_ptr<FakeRelay> r) : f(fs), inner(std::move(r)) {}
    DeliveryResult deliver(const Envelope& e) override {
      f.fail_writes = f.fail_writes == 0 && inner->calls() == 0 ? 1 : f.fail_writes;
      return inner->deliver(e);
    }
    std::string describe() const override { return "fake"; }
  };
  w.set_relay(std::make_shared<ArmAfterClaim>(flaky, relay), "IT Helpdesk <it@appliance.local>");
  w.run_once();
  BOOST_TEST(relay->calls() == 1u);  // nothing more sent while an answer is unrecorded
  BOOST_TEST(get(id).state == "sending");
  BOOST_TEST(get(other).state == "queued");
  w.run_once();  // storage accepts writes again
  OutboxRecord m = get(id);
  BOOST_TEST(m.state == "sent");
  BOOST_TEST(m.last_answer == "250 2.0.0 Ok: queued as FAKE1");
  BOOST_TEST(m.attempts == 1);
  BOOST_TEST(get(other).state == "sent");
  BOOST_TEST(relay->calls() == 2u);  // each message once
}

BOOST_AUTO_TEST_CASE(run_once_relay_exception_is_temporary) {
  int64_t id = add(secret_message());
  relay->throw_once();
  worker.run_once();
  OutboxRecord m = get(id);
  BOOST_TEST(m.state == "queued");
  BOOST_TEST(m.last_answer.find("socket exploded") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(run_once_without_relay_requeues) {
  int64_t id = add(secret_message());
  worker.set_relay(nullptr, "it@appliance.local");
  worker.run_once();
  OutboxRecord m = get(id);
  BOOST_TEST(m.state == "queued");
  BOOST_TEST(m.last_answer == "no relay configured");
  BOOST_TEST(relay->calls() == 0u);
}

BOOST_AUTO_TEST_CASE(run_once_logs_one_line_without_the_body) {
  add(secret_message());
  StderrCapture cap(dir.path() + "/stderr.txt");
  worker.run_once();
  std::string log = cap.finish();
  BOOST_TEST(log.find("notify: ") == 0u, log);
  BOOST_TEST(log.find("state=sent") != std::string::npos, log);
  BOOST_TEST(log.find("kind=password") != std::string::npos, log);
  BOOST_TEST(log.find("Xq7-secret-Pw9") == std::string::npos, log);
  BOOST_TEST(std::count(log.begin(), log.end(), '\n') == 1);
}

BOOST_AUTO_TEST_CASE(start_requeues_sending_and_delivers_it) {
  OutboxRecord m = secret_message();
  m.state = "sending";  // left by a crash mid-delivery
  m.attempts = 1;
  int64_t id = add(m);
  worker.start();
  BOOST_TEST(wait_state(id, "sent"));
  worker.stop();
  BOOST_TEST(relay->calls() == 1u);
  BOOST_TEST(get(id).attempts == 2);
}

BOOST_AUTO_TEST_CASE(wake_running_worker_delivers_new_message) {
  worker.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  int64_t id = add(secret_message());
  worker.wake();
  BOOST_TEST(wait_state(id, "sent"));
  worker.stop();
}

BOOST_AUTO_TEST_CASE(running_worker_retries_when_the_clock_reaches_the_due_time) {
  relay->then(Outcome::Temporary, "451 later");
  int64_t id = add(secret_message());
  worker.start();
  bool requeued = false;
  for (int i = 0; i < 250 && !requeued; ++i) {
    OutboxRecord m = get(id);
    requeued = m.state == "queued" && m.attempts == 1;
    if (!requeued) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  BOOST_TEST_REQUIRE(requeued);
  BOOST_TEST_REQUIRE(relay->calls() == 1u);
  clock.advance(3600);  // no wake(): the worker's own timer must notice
  BOOST_TEST(wait_state(id, "sent"));
  worker.stop();
}

BOOST_AUTO_TEST_SUITE_END()
