#include <boost/test/unit_test.hpp>

#include "resetd/notify/relay.h"
#include "test_support.h"

using namespace resetd::notify;

namespace {
std::string field_of(const RelayConfig& c) {
  auto r = make_relay(c);
  if (r.ok()) return "(ok)";
  BOOST_TEST(r.error().code == "invalid_relay_config");
  return r.error().field;
}

RelayConfig smtp() {
  RelayConfig c;
  c.kind = "smtp";
  c.host = "10.0.0.5";
  return c;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(make_relay_)

BOOST_AUTO_TEST_CASE(make_relay_valid_configs_build_each_kind) {
  notify_test::TempDir dir;
  RelayConfig f;
  f.mail_dir = dir.path() + "/mail";
  auto fr = make_relay(f);
  BOOST_TEST_REQUIRE(fr.ok());
  BOOST_TEST(fr.value()->describe() == "file " + f.mail_dir);

  RelayConfig s = smtp();
  s.security = "starttls";
  s.port = 587;
  s.username = "resetd";
  auto sr = make_relay(s);
  BOOST_TEST_REQUIRE(sr.ok());
  BOOST_TEST(sr.value()->describe() == "smtp 10.0.0.5:587 starttls auth");

  RelayConfig w;
  w.kind = "webhook";
  w.url = "https://hooks.local/resetd?token=abc";
  w.secret = "k";
  auto wr = make_relay(w);
  BOOST_TEST_REQUIRE(wr.ok());
  BOOST_TEST(wr.value()->describe() == "webhook https://hooks.local/resetd");
}

BOOST_AUTO_TEST_CASE(make_relay_bad_values_name_the_field) {
  RelayConfig c = smtp();
  c.kind = "sendmail";
  BOOST_TEST(field_of(c) == "kind");
  c = smtp();
  c.security = "try";
  BOOST_TEST(field_of(c) == "security");
  c = smtp();
  c.port = 0;
  BOOST_TEST(field_of(c) == "port");
  c = smtp();
  c.security = "none";
  c.username = "resetd";  // AUTH in clear
  BOOST_TEST(field_of(c) == "security");
  c = smtp();
  c.port = 65536;
  BOOST_TEST(field_of(c) == "port");
  c.port = 65535;
  BOOST_TEST(field_of(c) == "(ok)");
  c = smtp();
  c.timeout_s = 0;
  BOOST_TEST(field_of(c) == "timeout_s");
  c.timeout_s = 301;
  BOOST_TEST(field_of(c) == "timeout_s");
  c.timeout_s = 300;
  BOOST_TEST(field_of(c) == "(ok)");
  c = smtp();
  c.host = "";
  BOOST_TEST(field_of(c) == "host");
  c.host = "relay local";
  BOOST_TEST(field_of(c) == "host");
  c = smtp();
  c.from = "IT Helpdesk";
  BOOST_TEST(field_of(c) == "from");
  c = smtp();
  c.ca_file = "/nonexistent/ca.pem";
  BOOST_TEST(field_of(c) == "ca_file");
}

BOOST_AUTO_TEST_CASE(make_relay_webhook_url_must_be_http_or_https) {
  RelayConfig c;
  c.kind = "webhook";
  c.secret = "k";
  for (const char* bad : {"", "ftp://x/", "file:///etc/passwd", "https://", "http:///x",
                          "https://a b/", "https://user:pw@host/", "hooks.local/x"}) {
    c.url = bad;
    BOOST_TEST(field_of(c) == "url", bad);
  }
  c.url = "http://127.0.0.1:8080/hook";
  BOOST_TEST(field_of(c) == "(ok)");
  c.secret = "";
  BOOST_TEST(field_of(c) == "secret");
}

BOOST_AUTO_TEST_CASE(make_relay_file_without_mail_dir_is_refused) {
  RelayConfig c;
  c.mail_dir = "";
  BOOST_TEST(field_of(c) == "mail_dir");
}

BOOST_AUTO_TEST_SUITE_END()
