#define BOOST_TEST_MODULE config
#include <boost/test/unit_test.hpp>

#include "resetd/config/config.h"

using namespace resetd::config;

BOOST_AUTO_TEST_SUITE(ConfigTests)

BOOST_AUTO_TEST_CASE(parse_empty_givesSpecDefaults) {
  auto c = parse("", "test");
  BOOST_REQUIRE(c.ok());
  BOOST_TEST(c->listen == "127.0.0.1:8443");
  BOOST_TEST(c->tls == "self-signed");
  BOOST_TEST(c->relay_kind == "file");
  BOOST_TEST(c->opslimit == 2);
  BOOST_TEST(c->memlimit_mib == 64);
  BOOST_TEST(c->temp_password_ttl_h == 72);
  BOOST_TEST(c->link_ttl_min == 60);
}

BOOST_AUTO_TEST_CASE(parse_outOfRangeValue_parsesThenValidateRefuses) {
  auto c = parse("[hashing]\nmemlimit_mib = 4096\n", "test");
  BOOST_REQUIRE(c.ok());
  BOOST_TEST(!validate(c.value()).ok());
}

BOOST_AUTO_TEST_CASE(validate_outOfRange_messageNamesKeyAndValue) {
  auto c = parse("[hashing]\nmemlimit_mib = 4096\n", "test");
  BOOST_REQUIRE(c.ok());
  auto s = validate(c.value());
  BOOST_REQUIRE(!s.ok());
  BOOST_TEST(s.error().message.find("hashing.memlimit_mib") != std::string::npos);
  BOOST_TEST(s.error().message.find("4096") != std::string::npos);
  BOOST_TEST(s.error().message.find("8–1024") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(keepAliveHold_default3_0to50_elseRefusedByName) {
  auto d = parse("", "test");
  BOOST_REQUIRE(d.ok());
  BOOST_TEST(d.value().keep_alive_hold_ms == 3);
  auto off = parse("[server]\nkeep_alive_hold_ms = 0\n", "test");
  BOOST_REQUIRE(off.ok());
  BOOST_TEST(off.value().keep_alive_hold_ms == 0);
  BOOST_TEST(validate(off.value()).ok());
  auto big = parse("[server]\nkeep_alive_hold_ms = 51\n", "test");
  BOOST_REQUIRE(big.ok());
  auto s = validate(big.value());
  BOOST_REQUIRE(!s.ok());
  BOOST_TEST(s.error().message.find("server.keep_alive_hold_ms") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(parse_wrongType_namesKey) {
  auto c = parse("[relay]\nport = \"twenty-five\"\n", "test");
  BOOST_REQUIRE(!c.ok());
  BOOST_TEST(c.error().message.find("relay.port") != std::string::npos);
}

// Found by fuzz_config: toml++'s value<int64_t>() converts a float, and one
// outside int64's range (2e58) is undefined behaviour in that cast.
BOOST_AUTO_TEST_CASE(parse_floatForInteger_refusedAsNotAnInteger) {
  for (const char* text : {"[relay]\nport = 2e58\n", "[relay]\nport = 25.0\n",
                           "[hashing]\nmemlimit_mib = -1e300\n", "[relay]\nport = nan\n"}) {
    auto c = parse(text, "test");
    BOOST_REQUIRE_MESSAGE(!c.ok(), text);
    BOOST_TEST(c.error().message.find("an integer") != std::string::npos, c.error().message);
  }
}

BOOST_AUTO_TEST_CASE(validate_unknownRelayKind_listsChoices) {
  auto c = parse("[relay]\nkind = \"carrier-pigeon\"\n", "test");
  BOOST_REQUIRE(c.ok());
  auto s = validate(c.value());
  BOOST_REQUIRE(!s.ok());
  BOOST_TEST(s.error().message.find("\"smtp\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(parse_syntaxError_reportsLine) {
  auto c = parse("[server]\nlisten = \n", "my.toml");
  BOOST_REQUIRE(!c.ok());
  BOOST_TEST(c.error().message.find("my.toml:2") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(split_host_port_cases) {
  std::string h;
  int p = 0;
  BOOST_TEST(split_host_port("0.0.0.0:443", &h, &p));
  BOOST_TEST(h == "0.0.0.0");
  BOOST_TEST(p == 443);
  BOOST_TEST(split_host_port("[::1]:8443", &h, &p));
  BOOST_TEST(h == "::1");
  BOOST_TEST(!split_host_port("localhost", &h, &p));
  BOOST_TEST(!split_host_port("host:0", &h, &p));
  BOOST_TEST(!split_host_port("host:70000", &h, &p));
}

BOOST_AUTO_TEST_CASE(load_overrides_beatFile) {
  Overrides o;
  o.data_dir = "/tmp/x";
  o.listen = "127.0.0.1:9999";
  o.no_tls = true;
  auto c = load("", o);
  BOOST_REQUIRE(c.ok());
  BOOST_TEST(c->data_dir == "/tmp/x");
  BOOST_TEST(c->listen_port() == 9999);
  BOOST_TEST(c->tls == "off");
}

BOOST_AUTO_TEST_CASE(parse_forwardAuthAndPam_offByDefaultAndRead) {
  auto d = parse("", "test");
  BOOST_REQUIRE(d.ok());
  BOOST_TEST(!d->forward_auth_enabled);
  BOOST_TEST(!d->pam_enabled);
  BOOST_TEST(d->pam_socket == "/run/resetd/auth.sock");
  auto c = parse(
      "[forward_auth]\nenabled = true\nallowed_redirect_origins = [\"https://wiki.example\"]\n"
      "cookie_domain = \"example\"\n[forward_auth.rules]\n\"wiki.example\" = [\"user\"]\n"
      "[pam]\nenabled = true\nsocket = \"/run/x/a.sock\"\ngroup = \"adm\"\n",
      "test");
  BOOST_REQUIRE(c.ok());
  BOOST_TEST(c->forward_auth_enabled);
  BOOST_TEST(c->allowed_redirect_origins.size() == 1u);
  BOOST_REQUIRE(c->forward_auth_rules.size() == 1u);
  BOOST_TEST(c->forward_auth_rules[0].first == "wiki.example");
  BOOST_TEST(c->pam_enabled);
  BOOST_TEST(c->pam_group == "adm");
  // "example" has no dot: not a parent domain
  auto s = validate(c.value());
  BOOST_REQUIRE(!s.ok());
  BOOST_TEST(s.error().field == "forward_auth.cookie_domain");
}

BOOST_AUTO_TEST_CASE(validate_badForwardAuthValues_nameTheKey) {
  const std::pair<const char*, const char*> cases[] = {
      {"[forward_auth]\nallowed_redirect_origins = [\"https://a.example/path\"]\n", "forward_auth.allowed_redirect_origins"},
      {"[forward_auth]\nallowed_redirect_origins = [\"//a.example\"]\n", "forward_auth.allowed_redirect_origins"},
      {"[forward_auth.rules]\n\"a.example\" = [\"root\"]\n", "forward_auth.rules.a.example"},
      // issue 18 item 4: rules name hosts, never ports; one spelling per host
      {"[forward_auth.rules]\n\"a.example:8443\" = [\"user\"]\n", "forward_auth.rules"},
      {"[forward_auth.rules]\n\"A.example\" = [\"user\"]\n", "forward_auth.rules"},
      {"[forward_auth.rules]\n\"a.example.\" = [\"user\"]\n", "forward_auth.rules"},
      {"[forward_auth.rules]\n\"*.example\" = [\"user\"]\n", "forward_auth.rules"},
      {"[forward_auth.rules]\n\"[::1]:80\" = [\"user\"]\n", "forward_auth.rules"},
      {"[forward_auth.rules]\n\"*\" = [\"admin\"]\n", "forward_auth.rules.*"},
      {"[pam]\nsocket = \"relative.sock\"\n", "pam.socket"},
      {"[pam]\ngroup = \"a b\"\n", "pam.group"},
  };
  for (const auto& [text, key] : cases) {
    BOOST_TEST_CONTEXT(text) {
      auto c = parse(text, "test");
      BOOST_REQUIRE(c.ok());
      auto s = validate(c.value());
      BOOST_REQUIRE(!s.ok());
      BOOST_TEST(s.error().field == key);
    }
  }
  BOOST_TEST(!parse("[pam]\nenabled = \"yes\"\n", "test").ok());
  BOOST_TEST(!parse("[forward_auth]\nunknown = 1\n", "test").ok());
  BOOST_TEST(!parse("[forward_auth]\nrules = 3\n", "test").ok());
  auto ok = parse("[forward_auth.rules]\n\"*\" = [\"user\"]\n\"[::1]\" = []\n\"10.0.0.5\" = [\"user\"]\n", "test");
  BOOST_REQUIRE(ok.ok());
  BOOST_TEST(validate(ok.value()).ok());
}

BOOST_AUTO_TEST_CASE(pam_allowSystemAccounts_readAndValidated) {
  BOOST_TEST(parse("", "test")->pam_allow_system_accounts.empty());
  auto c = parse("[pam]\nenabled = true\nallow_system_accounts = [\"backup\", \"svc-app\"]\n", "test");
  BOOST_REQUIRE(c.ok());
  BOOST_TEST(validate(c.value()).ok());
  BOOST_TEST((c->pam_allow_system_accounts == std::vector<std::string>{"backup", "svc-app"}));
  // root and nobody can never be listed; names are the OS's lower-case ones
  for (const char* bad : {"root", "nobody", "Backup", "a b", "", "-x", "a\\tb"}) {
    BOOST_TEST_CONTEXT(bad) {
      auto b = parse(std::string("[pam]\nallow_system_accounts = [\"") + bad + "\"]\n", "test");
      BOOST_REQUIRE(b.ok());
      auto s = validate(b.value());
      BOOST_REQUIRE(!s.ok());
      BOOST_TEST(s.error().field == "pam.allow_system_accounts");
    }
  }
  BOOST_TEST(!parse("[pam]\nallow_system_accounts = \"backup\"\n", "test").ok());  // not a list
  BOOST_TEST(!parse("[pam]\nallow_system_account = [\"backup\"]\n", "test").ok());  // misspelt key
}

// ---- [directory] (issue 10) ----
namespace {
std::string dir_toml(const std::string& extra) {
  return "[directory]\nkind = \"ldap\"\nurl = \"ldaps://127.0.0.1:636/\"\nbind_dn = \"cn=resetd,dc=x\"\n"
         "bind_password = \"pw\"\nusers_base = \"ou=people,dc=x\"\n" + extra;
}
std::string error_field(const std::string& toml) {
  auto c = parse(toml, "test");
  if (!c.ok()) return c.error().field;
  auto s = validate(c.value());
  return s.ok() ? "" : s.error().field;
}
}  // namespace

BOOST_AUTO_TEST_CASE(directory_default_isLocalAccounts) {
  auto c = parse("", "test");
  BOOST_REQUIRE(c.ok());
  BOOST_TEST(c->directory.kind == "none");
  BOOST_TEST(validate(c.value()).ok());
}

BOOST_AUTO_TEST_CASE(directory_complete_isValid_andRolesParsed) {
  auto c = parse(dir_toml("[directory.roles]\n\"cn=helpdesk,dc=x\" = \"helpdesk_admin\"\n"), "test");
  BOOST_REQUIRE(c.ok());
  BOOST_TEST(validate(c.value()).ok());
  BOOST_TEST(c->directory.roles.at("cn=helpdesk,dc=x") == "helpdesk_admin");
  BOOST_TEST(c->directory.bind_password == "pw");
}

BOOST_AUTO_TEST_CASE(directory_badValues_nameTheKey) {
  BOOST_TEST(error_field("[directory]\nkind = \"nis\"\n") == "directory.kind");
  // plain schemes other than ldap:// (StartTLS) / ldaps:// are refused
  BOOST_TEST(error_field(dir_toml("").replace(dir_toml("").find("ldaps://"), 8, "http://")) == "directory.url");
  auto no_pw = dir_toml("");
  no_pw.replace(no_pw.find("bind_password = \"pw\""), 20, "");
  BOOST_TEST(error_field(no_pw) == "directory.bind_password");
  BOOST_TEST(error_field(dir_toml("timeout_s = 0\n")) == "directory.timeout_s");
  BOOST_TEST(error_field(dir_toml("ca_file = \"/nonexistent/ca.pem\"\n")) == "directory.ca_file");
  BOOST_TEST(error_field(dir_toml("user_filter = \"uid=*\"\n")) == "directory.user_filter");
  BOOST_TEST(error_field(dir_toml("colour = \"blue\"\n")) == "directory.colour");
  BOOST_TEST(error_field(dir_toml("[directory.roles]\n\"cn=g\" = \"root\"\n")) == "directory.roles.\"cn=g\"");
}

// Issue 18: libldap reads "a,b" and "a b" as a list and falls through to the
// next entry without the StartTLS chosen for the first: one server per entry.
BOOST_AUTO_TEST_CASE(directory_url_isExactlyOneServer) {
  auto with_url = [](const std::string& url) {
    auto t = dir_toml("");
    t.replace(t.find("ldaps://127.0.0.1:636/"), 22, url);
    return error_field(t);
  };
  for (const char* list : {"ldaps://dead/,ldap://x/", "ldaps://dead/ ldap://x/", "ldaps://a:636,b:389",
                           "ldaps://dead/\tldap://x/", "ldaps://a/dc=x??sub", "ldaps://user@a/",
                           "ldaps://a:0/", "ldaps://a:70000/", "ldaps://", "LDAP://a/", "ldapi://%2Fs/"})
    BOOST_TEST(with_url(list) == "directory.url", list);
  for (const char* one : {"ldaps://dc1.example.test", "ldaps://dc1.example.test:3269/", "ldap://10.0.0.5:389/",
                          "ldaps://[::1]:636/"})
    BOOST_TEST(with_url(one) == "", one);
}

BOOST_AUTO_TEST_CASE(directory_failoverUrls_readAndEachChecked) {
  auto c = parse(dir_toml("failover_urls = [\"ldaps://dc2.example.test/\", \"ldap://dc3.example.test:389\"]\n"), "test");
  BOOST_REQUIRE(c.ok());
  BOOST_TEST(validate(c.value()).ok());
  BOOST_TEST(c->directory.failover_urls.size() == 2u);
  BOOST_TEST(c->directory.failover_urls[1] == "ldap://dc3.example.test:389");
  BOOST_TEST(error_field(dir_toml("failover_urls = [\"ldaps://b/,ldap://c/\"]\n")) == "directory.failover_urls");
  BOOST_TEST(error_field(dir_toml("failover_urls = [\"http://b/\"]\n")) == "directory.failover_urls");
  BOOST_TEST(error_field(dir_toml("failover_urls = \"ldaps://b/\"\n")) == "directory.failover_urls");
  std::string nine = "failover_urls = [";
  for (int i = 0; i < 9; ++i) nine += std::string(i ? "," : "") + "\"ldaps://h" + std::to_string(i) + "/\"";
  BOOST_TEST(error_field(dir_toml(nine + "]\n")) == "directory.failover_urls");
}

BOOST_AUTO_TEST_CASE(audit_default_syslogOffToDevLogAsAuth) {
  auto c = parse("", "test");
  BOOST_REQUIRE(c.ok());
  BOOST_TEST(!c->audit_syslog);
  BOOST_TEST(c->audit_syslog_facility == "auth");
  BOOST_TEST(c->audit_syslog_app_name == "resetd");
  BOOST_TEST(c->audit_syslog_socket == "/dev/log");
}

BOOST_AUTO_TEST_CASE(audit_keys_readAndEachChecked) {
  auto c = parse("[audit]\nsyslog = true\nsyslog_facility = \"local3\"\nsyslog_app_name = \"resetd-b\"\n"
                 "syslog_socket = \"/run/rsyslog/resetd.sock\"\n", "test");
  BOOST_REQUIRE(c.ok());
  BOOST_TEST(validate(c.value()).ok());
  BOOST_TEST(c->audit_syslog);
  BOOST_TEST(c->audit_syslog_facility == "local3");
  BOOST_TEST(c->audit_syslog_app_name == "resetd-b");
  BOOST_TEST(c->audit_syslog_socket == "/run/rsyslog/resetd.sock");
  BOOST_TEST(error_field("[audit]\nsyslog = \"yes\"\n") == "audit.syslog");
  BOOST_TEST(error_field("[audit]\nsyslog_facility = \"kern\"\n") == "audit.syslog_facility");
  BOOST_TEST(error_field("[audit]\nsyslog_app_name = \"re setd\"\n") == "audit.syslog_app_name");
  BOOST_TEST(error_field("[audit]\nsyslog_app_name = \"\"\n") == "audit.syslog_app_name");
  BOOST_TEST(error_field("[audit]\nsyslog_socket = \"dev/log\"\n") == "audit.syslog_socket");
  BOOST_TEST(error_field("[audit]\nsyslog_socket = \"/" + std::string(107, 'x') + "\"\n") == "audit.syslog_socket");
  BOOST_TEST(error_field("[audit]\nsyslog_host = \"loghost\"\n") == "audit.syslog_host");
}

// Issue 23: [second_factor] off by default; per-role rules only with enabled = true.
BOOST_AUTO_TEST_CASE(secondFactor_rolesNeedEnabled_valuesChecked) {
  auto d = parse("", "test");
  BOOST_REQUIRE(d.ok());
  BOOST_TEST(!d->second_factor_enabled);
  auto ok = parse("[second_factor]\nenabled = true\nuser_admin = \"required\"\n", "test");
  BOOST_REQUIRE(ok.ok());
  BOOST_TEST(validate(*ok).ok());
  BOOST_TEST(ok->second_factor_roles.size() == 1u);
  auto off = parse("[second_factor]\nuser_admin = \"required\"\n", "test");
  BOOST_REQUIRE(off.ok());
  auto s = validate(*off);
  BOOST_REQUIRE(!s.ok());
  BOOST_TEST(s.error().message.find("second_factor.user_admin") != std::string::npos);
  auto bad = parse("[second_factor]\nenabled = true\nglobal_admin = \"always\"\n", "test");
  BOOST_REQUIRE(bad.ok());
  BOOST_TEST(!validate(*bad).ok());
  BOOST_TEST(!parse("[second_factor]\nroot = \"off\"\n", "test").ok());
  auto host = parse("[forward_auth]\ntwo_factor = [\"wiki.example:443\"]\n", "test");
  BOOST_REQUIRE(host.ok());
  BOOST_TEST(!validate(*host).ok());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(callerVerification_perRole_elseRefusedByName) {
  auto c = parse("[caller_verification]\nhelpdesk_admin = \"required\"\nglobal_admin = \"off\"\n", "test");
  BOOST_REQUIRE(c);
  BOOST_CHECK_EQUAL(c.value().caller_verification.at("helpdesk_admin"), "required");
  BOOST_CHECK_EQUAL(c.value().caller_verification.at("global_admin"), "off");
  BOOST_CHECK_EQUAL(c.value().caller_verification.count("user_admin"), 0u);
  auto bad = parse("[caller_verification]\nhelpdesk_admin = \"sometimes\"\n", "test");
  BOOST_REQUIRE(!bad);
  BOOST_CHECK_NE(bad.error().message.find("caller_verification.helpdesk_admin"), std::string::npos);
  auto role = parse("[caller_verification]\nuser = \"required\"\n", "test");
  BOOST_REQUIRE(!role);
  BOOST_CHECK_NE(role.error().message.find("caller_verification.user"), std::string::npos);
}
