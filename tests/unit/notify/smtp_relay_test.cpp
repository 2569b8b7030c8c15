// SmtpRelay against a real smtp-sink (postfix) on a free 127.0.0.1 port.
#include <pwd.h>
#include <sys/stat.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <memory>

#include "resetd/notify/relay.h"
#include "test_support.h"

using namespace resetd::notify;
using namespace notify_test;
namespace fs = std::filesystem;

namespace {

const char* const kSmtpSink = "/usr/sbin/smtp-sink";

// smtp-sink with optional fault injection; every accepted message is dumped
// under dir so the test can read what was really sent.
class SmtpSink {
 public:
  explicit SmtpSink(const std::vector<std::string>& faults = {}) {
    BOOST_TEST_REQUIRE(::access(kSmtpSink, X_OK) == 0, "smtp-sink (package postfix) is needed");
    std::vector<std::string> argv = {kSmtpSink, "-4"};
    if (::geteuid() == 0) {
      // As root it must drop privileges, and nobody must be able to write the dumps.
      passwd* pw = ::getpwnam("nobody");
      BOOST_TEST_REQUIRE(pw != nullptr);
      BOOST_TEST_REQUIRE(::chown(dir_.path().c_str(), pw->pw_uid, pw->pw_gid) == 0);
      argv.insert(argv.end(), {"-u", "nobody"});
    }
    argv.insert(argv.end(), {"-d", dir_.path() + "/%Y%m%d/%H%M%S."});
    argv.insert(argv.end(), faults.begin(), faults.end());
    port_ = free_port();
    argv.push_back("127.0.0.1:" + std::to_string(port_));
    argv.push_back("10");
    child_ = std::make_unique<Child>(argv);
    BOOST_TEST_REQUIRE(wait_listening(port_), "smtp-sink did not start");
  }

  int port() const { return port_; }

  // Contents of every non-empty dump (waits up to 3 s for at least `want`).
  std::vector<std::string> dumps(size_t want = 0) const {
    std::vector<std::string> out;
    for (int i = 0; i < 150; ++i) {
      out.clear();
      std::error_code ec;
      for (const auto& e : fs::recursive_directory_iterator(dir_.path(), ec)) {
        // smtp-sink may leave an empty file behind for a refused transaction,
        // or remove it while we look: a file gone under us is not a dump.
        std::error_code fec;
        const bool regular = e.is_regular_file(fec);
        const auto size = regular ? e.file_size(fec) : 0;
        if (regular && !fec && size > 0) out.push_back(read_file(e.path().string()));
      }
      if (out.size() >= want) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return out;
  }

 private:
  TempDir dir_;
  int port_ = 0;
  std::unique_ptr<Child> child_;
};

Envelope envelope() {
  Envelope e;
  e.id = 9;
  e.kind = "password";
  e.to = "ayse@example.org";
  e.subject = "Yeni parolanız";
  e.body = "Geçici parola: Xq7-secret-Pw9\n";
  e.message_id = "9.smtptest@appliance.local";
  e.created_at = 1'800'000'000;
  e.date = 1'800'000'000;
  return e;
}

std::unique_ptr<Relay> smtp_relay_to(int port, const std::string& security = "none",
                                     int timeout_s = 5) {
  RelayConfig c;
  c.kind = "smtp";
  c.host = "127.0.0.1";
  c.port = port;
  c.security = security;
  c.timeout_s = timeout_s;
  auto r = make_relay(c);
  BOOST_TEST_REQUIRE(r.ok());
  return std::move(r.value());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(smtp_relay)

BOOST_AUTO_TEST_CASE(deliver_accepting_relay_is_sent_with_its_reply_line) {
  SmtpSink sink;
  DeliveryResult r = smtp_relay_to(sink.port())->deliver(envelope());
  BOOST_TEST((r.outcome == Outcome::Sent), r.answer);
  BOOST_TEST(r.answer.rfind("250 ", 0) == 0u, r.answer);
  BOOST_TEST(r.answer.find("221") == std::string::npos);
  std::vector<std::string> got = sink.dumps(1);
  BOOST_TEST_REQUIRE(got.size() == 1u);
  // smtp-sink stores lines with LF ends.
  BOOST_TEST(got[0].find("\nMessage-ID: <9.smtptest@appliance.local>\n") != std::string::npos);
  BOOST_TEST(got[0].find("X-Rcpt-Args: <ayse@example.org>") != std::string::npos);
  BOOST_TEST(got[0].find("X-Mail-Args: <it-helpdesk@appliance.local>") != std::string::npos);
  BOOST_TEST(got[0].find("Subject: =?UTF-8?B?") != std::string::npos);
  // The body travels base64-encoded, never in clear.
  BOOST_TEST(got[0].find("Xq7-secret-Pw9") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(deliver_hard_rejected_recipient_is_permanent_with_the_relay_text) {
  SmtpSink sink({"-f", "RCPT"});
  DeliveryResult r = smtp_relay_to(sink.port())->deliver(envelope());
  BOOST_TEST((r.outcome == Outcome::Permanent), r.answer);
  // The relay's own line, not libcurl's "RCPT failed: 500", nor the 221 to QUIT.
  BOOST_TEST(r.answer.rfind("5", 0) == 0u, r.answer);
  BOOST_TEST(r.answer.find("Error") != std::string::npos, r.answer);
  BOOST_TEST(r.answer.find("RCPT failed") == std::string::npos, r.answer);
  std::vector<std::string> dumped = sink.dumps();
  BOOST_TEST(dumped.empty(), (dumped.empty() ? std::string() : dumped[0]));
}

BOOST_AUTO_TEST_CASE(deliver_soft_rejected_recipient_is_temporary_with_the_relay_text) {
  SmtpSink sink({"-r", "RCPT"});
  DeliveryResult r = smtp_relay_to(sink.port())->deliver(envelope());
  BOOST_TEST((r.outcome == Outcome::Temporary), r.answer);
  BOOST_TEST(r.answer.rfind("4", 0) == 0u, r.answer);
  BOOST_TEST(r.answer.find("Error") != std::string::npos, r.answer);
}

BOOST_AUTO_TEST_CASE(deliver_hard_rejected_data_is_permanent) {
  SmtpSink sink({"-f", "DATA"});
  DeliveryResult r = smtp_relay_to(sink.port())->deliver(envelope());
  BOOST_TEST((r.outcome == Outcome::Permanent), r.answer);
  BOOST_TEST(r.answer.rfind("5", 0) == 0u, r.answer);
}

BOOST_AUTO_TEST_CASE(deliver_421_and_disconnect_is_temporary) {
  SmtpSink sink({"-Q", "MAIL"});
  DeliveryResult r = smtp_relay_to(sink.port())->deliver(envelope());
  BOOST_TEST((r.outcome == Outcome::Temporary), r.answer);
  BOOST_TEST(r.answer.rfind("421", 0) == 0u, r.answer);
}

BOOST_AUTO_TEST_CASE(deliver_connection_refused_is_temporary_with_curl_text) {
  int port = free_port();  // nothing listens here
  DeliveryResult r = smtp_relay_to(port)->deliver(envelope());
  BOOST_TEST((r.outcome == Outcome::Temporary), r.answer);
  BOOST_TEST(r.answer.rfind("smtp: ", 0) == 0u, r.answer);
  BOOST_TEST(r.answer.size() > 6u);
}

BOOST_AUTO_TEST_CASE(deliver_slow_relay_times_out_as_temporary) {
  SmtpSink sink({"-W", "RCPT:4"});
  auto t0 = std::chrono::steady_clock::now();
  DeliveryResult r = smtp_relay_to(sink.port(), "none", 1)->deliver(envelope());
  auto took = std::chrono::steady_clock::now() - t0;
  BOOST_TEST((r.outcome == Outcome::Temporary), r.answer);
  BOOST_TEST(std::chrono::duration_cast<std::chrono::milliseconds>(took).count() < 3500);
}

BOOST_AUTO_TEST_CASE(deliver_starttls_required_but_not_offered_is_temporary_and_sends_nothing) {
  SmtpSink sink;  // smtp-sink has no STARTTLS
  DeliveryResult r = smtp_relay_to(sink.port(), "starttls")->deliver(envelope());
  BOOST_TEST((r.outcome == Outcome::Temporary), r.answer);
  BOOST_TEST(r.answer.find("STARTTLS") != std::string::npos, r.answer);
  BOOST_TEST(sink.dumps().empty());
}

BOOST_AUTO_TEST_CASE(deliver_implicit_tls_to_plain_relay_is_temporary_and_sends_nothing) {
  SmtpSink sink;
  DeliveryResult r = smtp_relay_to(sink.port(), "tls")->deliver(envelope());
  BOOST_TEST((r.outcome == Outcome::Temporary), r.answer);
  BOOST_TEST(sink.dumps().empty());
}

BOOST_AUTO_TEST_SUITE_END()
