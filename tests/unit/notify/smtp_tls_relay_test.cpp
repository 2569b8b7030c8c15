// SmtpRelay with STARTTLS, implicit TLS and AUTH against an aiosmtpd relay
// (Debian's python3-aiosmtpd, run with /usr/bin/python3) and a certificate
// made by the test.
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <memory>

#include "resetd/notify/relay.h"
#include "test_support.h"

using namespace resetd::notify;
using namespace notify_test;
namespace fs = std::filesystem;

namespace {

const char* const kPython = "/usr/bin/python3";
const char* const kRelayScript = R"PY(
import os, ssl, sys, time
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

port, mode, cert, key, outdir = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ctx.load_cert_chain(cert, key)

class Handler:
    async def handle_DATA(self, server, session, envelope):
        n = len(os.listdir(outdir))
        with open(os.path.join(outdir, "msg%d.eml" % n), "wb") as f:
            f.write(envelope.original_content or envelope.content)
        return "250 2.0.0 Ok: stored as msg%d" % n

def auth(server, session, envelope, mechanism, data):
    ok = (isinstance(data, LoginPassword) and data.login == b"resetd"
          and data.password == b"relay-Pa55word")
    return AuthResult(success=ok, handled=False)  # False: aiosmtpd sends 235 or 535

kw = dict(hostname="127.0.0.1", port=port, authenticator=auth, auth_require_tls=True)
if mode == "starttls":
    c = Controller(Handler(), tls_context=ctx, require_starttls=True, **kw)
else:
    c = Controller(Handler(), ssl_context=ctx, **kw)
c.start()
time.sleep(120)
c.stop()
)PY";

class TlsRelay {
 public:
  explicit TlsRelay(const std::string& mode) {
    BOOST_TEST_REQUIRE(::access(kPython, X_OK) == 0);
    out_ = dir_.path() + "/out";
    fs::create_directory(out_);
    cert_ = dir_.path() + "/cert.pem";
    const std::string key = dir_.path() + "/key.pem";
    const std::string cmd =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2"
        " -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout " +
        key + " -out " + cert_ + " >/dev/null 2>&1";
    BOOST_TEST_REQUIRE(std::system(cmd.c_str()) == 0, "openssl could not make a certificate");
    const std::string script = dir_.path() + "/relay.py";
    { std::ofstream(script) << kRelayScript; }
    port_ = free_port();
    child_ = std::make_unique<Child>(std::vector<std::string>{
        kPython, "-W", "ignore", script, std::to_string(port_), mode, cert_, key, out_});
    BOOST_TEST_REQUIRE(wait_listening(port_, std::chrono::seconds(10)), "aiosmtpd did not start");
  }

  int port() const { return port_; }
  const std::string& ca_file() const { return cert_; }
  std::vector<std::string> stored() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(out_)) out.push_back(read_file(e.path().string()));
    return out;
  }

 private:
  TempDir dir_;
  std::string out_;
  std::string cert_;
  int port_ = 0;
  std::unique_ptr<Child> child_;
};

RelayConfig config(int port, const std::string& security) {
  RelayConfig c;
  c.kind = "smtp";
  c.host = "127.0.0.1";
  c.port = port;
  c.security = security;
  c.timeout_s = 10;
  c.username = "resetd";
  c.password = "relay-Pa55word";
  return c;
}

DeliveryResult send(const RelayConfig& c) {
  auto relay = make_relay(c);
  BOOST_TEST_REQUIRE(relay.ok());
  Envelope e;
  e.id = 5;
  e.kind = "password";
  e.to = "wei@example.org";
  e.subject = "您的新密碼";
  e.body = "臨時密碼：Xq7-secret-Pw9\n";
  e.message_id = "5.tls@appliance.local";
  e.created_at = 1'800'000'000;
  e.date = 1'800'000'000;
  return relay.value()->deliver(e);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(smtp_relay_tls)

BOOST_AUTO_TEST_CASE(deliver_starttls_with_site_ca_and_auth_is_sent) {
  TlsRelay relay("starttls");
  RelayConfig c = config(relay.port(), "starttls");
  c.ca_file = relay.ca_file();
  DeliveryResult r = send(c);
  BOOST_TEST((r.outcome == Outcome::Sent), r.answer);
  BOOST_TEST(r.answer == "250 2.0.0 Ok: stored as msg0");
  BOOST_TEST(r.answer.find("relay-Pa55word") == std::string::npos);
  auto got = relay.stored();
  BOOST_TEST_REQUIRE(got.size() == 1u);
  BOOST_TEST(got[0].find("Message-ID: <5.tls@appliance.local>\r\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(deliver_starttls_unknown_ca_is_temporary_with_a_clear_answer) {
  TlsRelay relay("starttls");
  RelayConfig c = config(relay.port(), "starttls");  // no ca_file: the system store
  DeliveryResult r = send(c);
  BOOST_TEST((r.outcome == Outcome::Temporary), r.answer);
  BOOST_TEST(r.answer.find("TLS certificate") != std::string::npos, r.answer);
  BOOST_TEST(relay.stored().empty());
}

BOOST_AUTO_TEST_CASE(deliver_wrong_auth_password_is_permanent_with_the_relay_text) {
  TlsRelay relay("starttls");
  RelayConfig c = config(relay.port(), "starttls");
  c.ca_file = relay.ca_file();
  c.password = "wrong-password";
  DeliveryResult r = send(c);
  BOOST_TEST((r.outcome == Outcome::Permanent), r.answer);
  BOOST_TEST(r.answer.rfind("535", 0) == 0u, r.answer);
  BOOST_TEST(r.answer.find("wrong-password") == std::string::npos);
  BOOST_TEST(relay.stored().empty());
}

BOOST_AUTO_TEST_CASE(deliver_implicit_tls_with_site_ca_is_sent) {
  TlsRelay relay("tls");
  RelayConfig c = config(relay.port(), "tls");
  c.ca_file = relay.ca_file();
  DeliveryResult r = send(c);
  BOOST_TEST((r.outcome == Outcome::Sent), r.answer);
  BOOST_TEST(relay.stored().size() == 1u);
}

BOOST_AUTO_TEST_CASE(deliver_plain_to_a_starttls_only_relay_is_refused_not_sent) {
  TlsRelay relay("starttls");
  RelayConfig c = config(relay.port(), "none");
  c.username.clear();  // no AUTH either: the relay must still refuse mail in clear
  DeliveryResult r = send(c);
  BOOST_TEST((r.outcome == Outcome::Permanent), r.answer);
  BOOST_TEST(r.answer.rfind("530", 0) == 0u, r.answer);
  BOOST_TEST(relay.stored().empty());
}

BOOST_AUTO_TEST_SUITE_END()
