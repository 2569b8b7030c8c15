#include "resetd/notify/templates.h"

#include <boost/test/unit_test.hpp>

using resetd::notify::render;

namespace {
const std::map<std::string, std::string> kPasswordVars = {
    {"username", "ayse"},
    {"display_name", "Ayşe Yılmaz"},
    {"password", "Xq7-secret-Pw9"},
    {"expires_at", "2027-01-18T08:00:00Z"},
    {"sign_in_url", "https://appliance.local/"}};

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(render_)

BOOST_AUTO_TEST_CASE(render_password_en_says_temporary_expiry_and_change) {
  auto r = render("password", "en", kPasswordVars);
  BOOST_TEST(r.subject == "Your new password");
  BOOST_TEST(contains(r.body, "Xq7-secret-Pw9"));
  BOOST_TEST(contains(r.body, "temporary"));
  BOOST_TEST(contains(r.body, "expires at 2027-01-18T08:00:00Z"));
  BOOST_TEST(contains(r.body, "must change it"));
  BOOST_TEST(contains(r.body, "https://appliance.local/"));
  BOOST_TEST(!contains(r.body, "{"));
}

BOOST_AUTO_TEST_CASE(render_password_zh_tw_is_traditional_chinese) {
  auto r = render("password", "zh-TW", kPasswordVars);
  BOOST_TEST(r.subject == "您的新密碼");
  BOOST_TEST(contains(r.body, "臨時密碼"));
  BOOST_TEST(contains(r.body, "必須變更密碼"));
  BOOST_TEST(contains(r.body, "2027-01-18T08:00:00Z"));
  BOOST_TEST(contains(r.body, "Xq7-secret-Pw9"));
}

BOOST_AUTO_TEST_CASE(render_password_tr_tr_uses_turkish_letters) {
  auto r = render("password", "tr-TR", kPasswordVars);
  BOOST_TEST(r.subject == "Yeni parolanız");
  BOOST_TEST(contains(r.body, "Geçici parola: Xq7-secret-Pw9"));
  BOOST_TEST(contains(r.body, "değiştirmeniz gerekir"));
  BOOST_TEST(contains(r.body, "ı"));
  BOOST_TEST(contains(r.body, "ş"));
  BOOST_TEST(contains(r.body, "ğ"));
  BOOST_TEST(contains(r.body, "ü"));
  BOOST_TEST(contains(r.body, "ö"));
  BOOST_TEST(contains(r.body, "ç"));
}

BOOST_AUTO_TEST_CASE(render_notice_any_locale_carries_actor_and_time_but_no_secret) {
  std::map<std::string, std::string> vars = {{"username", "ayse"},
                                             {"display_name", "Ayşe"},
                                             {"actor", "helpdesk1"},
                                             {"when", "2027-01-15T08:00:00Z"},
                                             {"password", "Xq7-secret-Pw9"}};
  for (const char* loc : {"en", "zh-TW", "tr-TR"}) {
    auto r = render("notice", loc, vars);
    BOOST_TEST(contains(r.body, "helpdesk1"), loc);
    BOOST_TEST(contains(r.body, "2027-01-15T08:00:00Z"), loc);
    BOOST_TEST(!contains(r.body, "Xq7-secret-Pw9"), loc);
  }
  BOOST_TEST(contains(render("notice", "en", vars).body,
                      "Your password was reset by helpdesk1 at 2027-01-15T08:00:00Z. If you did "
                      "not expect this, contact IT."));
}

BOOST_AUTO_TEST_CASE(render_password_without_sign_in_url_leaves_that_line_out) {
  auto vars = kPasswordVars;
  vars.erase("sign_in_url");
  for (const char* loc : {"en", "zh-TW", "tr-TR"}) {
    auto with = render("password", loc, kPasswordVars);
    auto without = render("password", loc, vars);
    BOOST_TEST(contains(with.body, "https://appliance.local/\n\n"), loc);
    BOOST_TEST(!contains(without.body, "https://"), loc);
    BOOST_TEST(!contains(without.body, "\n\n\n"), loc);
    BOOST_TEST(!contains(with.body, "?"), loc);
    BOOST_TEST(without.body.size() < with.body.size(), loc);
    BOOST_TEST(contains(without.body, "Xq7-secret-Pw9"), loc);
  }
  BOOST_TEST(!contains(render("password", "en", vars).body, "Sign in at"));
}

BOOST_AUTO_TEST_CASE(render_unknown_locale_falls_back_to_english) {
  BOOST_TEST(render("password", "de-DE", kPasswordVars).subject == "Your new password");
  BOOST_TEST(render("password", "", kPasswordVars).subject == "Your new password");
  BOOST_TEST(render("password", "tr", kPasswordVars).subject == "Yeni parolanız");
}

BOOST_AUTO_TEST_CASE(render_missing_vars_render_empty_and_values_are_not_reexpanded) {
  auto r = render("link", "en", {{"link", "https://x/{username}"}});
  BOOST_TEST(contains(r.body, "https://x/{username}"));
  BOOST_TEST(!contains(r.body, "{display_name}"));
  BOOST_TEST(!contains(r.body, "{expires_at}"));
}

BOOST_AUTO_TEST_CASE(render_every_kind_and_locale_has_subject_and_body) {
  for (const char* kind : {"password", "link", "notice", "code", "reminder", "address_change", "test"}) {
    for (const char* loc : {"en", "zh-TW", "tr-TR"}) {
      auto r = render(kind, loc, {});
      BOOST_TEST(!r.subject.empty(), kind << " " << loc);
      BOOST_TEST(!r.body.empty(), kind << " " << loc);
      BOOST_TEST(!contains(r.body, "\r"), kind << " " << loc);
    }
  }
  // The locales really differ.
  BOOST_TEST(render("code", "en", {}).subject != render("code", "tr-TR", {}).subject);
  BOOST_TEST(render("code", "en", {}).subject != render("code", "zh-TW", {}).subject);
}

BOOST_AUTO_TEST_SUITE_END()
