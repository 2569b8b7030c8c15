#define BOOST_TEST_MODULE auditlog
#include <boost/test/unit_test.hpp>

#include <regex>
#include <set>

#include "resetd/auditlog/syslog.h"

using namespace resetd::auditlog;
using resetd::storage::AuditRecord;

namespace {
AuditRecord row() {
  AuditRecord a;
  a.at = 1'796'000'000;  // 2026-11-30T00:53:20Z
  a.actor = "helpdesk1";
  a.client = "10.0.0.5";
  a.action = "password_reset";
  a.target = "alice";
  a.outcome = "ok";
  a.detail = "queued for alice@example.test";
  return a;
}
SyslogIdentity ident() {
  SyslogIdentity id;
  id.facility = 4;
  id.app_name = "resetd";
  id.hostname = "appliance-3";
  id.pid = 4242;
  return id;
}
// The SD-PARAM names of the message's one SD-ELEMENT.
std::set<std::string> param_names(const std::string& m) {
  std::set<std::string> out;
  static const std::regex name(R"re( ([a-z_]+)=")re");
  const std::string sd = m.substr(m.find('['), m.find("] ") - m.find('['));
  for (std::sregex_iterator it(sd.begin(), sd.end(), name), end; it != end; ++it) out.insert((*it)[1]);
  return out;
}
bool valid_utf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = s[i];
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += n;
  }
  return true;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(Rfc5424Tests)

BOOST_AUTO_TEST_CASE(format_okRow_headerAndStructuredDataAsRfc5424) {
  const std::string m = format_rfc5424(row(), ident());
  BOOST_TEST(m ==
             "<38>1 2026-11-30T00:53:20Z appliance-3 resetd 4242 password_reset "
             "[resetd@32473 actor=\"helpdesk1\" action=\"password_reset\" target=\"alice\" "
             "client=\"10.0.0.5\" outcome=\"ok\" detail=\"queued for alice@example.test\"] "
             "helpdesk1 password_reset alice: ok");
}

BOOST_AUTO_TEST_CASE(format_failedRow_warningSeverityInTheFacility) {
  AuditRecord a = row();
  a.outcome = "failed";
  SyslogIdentity id = ident();
  id.facility = 23;  // local7
  BOOST_TEST(format_rfc5424(a, id).rfind("<188>1 ", 0) == 0);  // 23*8 + 4
  a.outcome = "denied";
  id.facility = 10;  // authpriv
  BOOST_TEST(format_rfc5424(a, id).rfind("<84>1 ", 0) == 0);
}

BOOST_AUTO_TEST_CASE(format_quoteBackslashBracket_escapedInParamValues) {
  AuditRecord a = row();
  a.target = "we\"ird\\na]me";
  const std::string m = format_rfc5424(a, ident());
  BOOST_TEST(m.find(R"(target="we\"ird\\na\]me")") != std::string::npos, m);
  // in MSG, after the structured data, nothing is escaped
  BOOST_TEST(m.find("helpdesk1 password_reset we\"ird\\na]me: ok") != std::string::npos, m);
}

BOOST_AUTO_TEST_CASE(format_controlCharsAndBadUtf8_becomeQuestionMarks) {
  AuditRecord a = row();
  a.actor = "eve\n<13>1 forged";
  a.detail = std::string("bad \xff\xfe utf8 and \xe6\x97\xa5 ok");
  const std::string m = format_rfc5424(a, ident());
  BOOST_TEST(m.find('\n') == std::string::npos);
  BOOST_TEST(m.find(R"(actor="eve?<13>1 forged")") != std::string::npos, m);
  BOOST_TEST(m.find("bad ?? utf8 and \xe6\x97\xa5 ok") != std::string::npos, m);
  BOOST_TEST(valid_utf8(m));
}

BOOST_AUTO_TEST_CASE(format_emptyAndOddHeaderFields_nilOrPrintableAscii) {
  AuditRecord a = row();
  a.action = "";
  SyslogIdentity id = ident();
  id.hostname = "";
  id.app_name = "re setd";
  id.pid = 0;
  const std::string m = format_rfc5424(a, id);
  BOOST_TEST(m.rfind("<38>1 2026-11-30T00:53:20Z - resetd - - [resetd@32473 ", 0) == 0, m);
}

BOOST_AUTO_TEST_CASE(format_hugeValues_cutToAtMost2048BytesStillWellFormed) {
  AuditRecord a = row();
  a.actor = std::string(5000, ']');  // escapes double every byte
  a.target = std::string(3000, 'x') + "\xe6\x97\xa5";
  a.client = std::string(300, '\\');
  a.detail = "";
  for (int i = 0; i < 2000; ++i) a.detail += "\xe6\x97\xa5";  // 3-byte characters
  a.action = std::string(100, 'a');
  SyslogIdentity id = ident();
  id.hostname = std::string(400, 'h');
  id.app_name = std::string(100, 'p');
  const std::string m = format_rfc5424(a, id);
  BOOST_TEST(m.size() <= kMaxMessage);
  BOOST_TEST(valid_utf8(m));
  // every parameter still present and closed, no escape cut in half
  static const std::regex sd(
      R"re(\[resetd@32473 actor="(\\\]){1,64}\.\.\." action="a+\.\.\." target="x+\.\.\." client="(\\\\)+\.\.\." outcome="ok" detail="(日)+\.\.\."\] )re");
  BOOST_TEST(std::regex_search(m, sd), m.substr(0, 400));
  BOOST_TEST(m.find(" " + std::string(255, 'h') + " " + std::string(48, 'p') + " 4242 " + std::string(32, 'a') + " [") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(format_anyRow_carriesExactlyTheAuditFieldsNoOther) {
  // The structured data is the audit row's own fields: nothing a request
  // carried (password, code, token, link) has a way in.
  BOOST_TEST(param_names(format_rfc5424(row(), ident())) ==
             (std::set<std::string>{"actor", "action", "target", "client", "outcome", "detail"}));
}

BOOST_AUTO_TEST_CASE(facilityCode_knownNames_codesOfRfc5424) {
  BOOST_TEST(facility_code("auth").value() == 4);
  BOOST_TEST(facility_code("authpriv").value() == 10);
  BOOST_TEST(facility_code("daemon").value() == 3);
  BOOST_TEST(facility_code("local0").value() == 16);
  BOOST_TEST(facility_code("local7").value() == 23);
  BOOST_TEST(!facility_code("kern").has_value());
}

BOOST_AUTO_TEST_SUITE_END()
