#include "resetd/notify/templates.h"

#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <ctime>

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

// Times in mails are the process's local time: each case names its zone
// (POSIX TZ strings, so no tzdata is needed).
struct Zone {
  explicit Zone(const char* tz) {
    const char* old = std::getenv("TZ");
    had_ = old != nullptr;
    if (had_) old_ = old;
    setenv("TZ", tz, 1);
    tzset();
  }
  ~Zone() {
    if (had_) setenv("TZ", old_.c_str(), 1);
    else unsetenv("TZ");
    tzset();
  }
  bool had_ = false;
  std::string old_;
};
struct InUtc {
  Zone z{"UTC0"};
};
}  // namespace

BOOST_FIXTURE_TEST_SUITE(render_, InUtc)

BOOST_AUTO_TEST_CASE(render_password_en_says_temporary_expiry_and_change) {
  auto r = render("password", "en", kPasswordVars);
  BOOST_TEST(r.subject == "Your new password");
  BOOST_TEST(contains(r.body, "Xq7-secret-Pw9"));
  BOOST_TEST(contains(r.body, "temporary"));
  BOOST_TEST(contains(r.body, "expires at January 18, 2027, 8:00 AM (UTC)"));
  BOOST_TEST(contains(r.body, "must change it"));
  BOOST_TEST(contains(r.body, "https://appliance.local/"));
  BOOST_TEST(!contains(r.body, "{"));
}

BOOST_AUTO_TEST_CASE(render_password_zh_tw_is_traditional_chinese) {
  auto r = render("password", "zh-TW", kPasswordVars);
  BOOST_TEST(r.subject == "您的新密碼");
  BOOST_TEST(contains(r.body, "臨時密碼"));
  BOOST_TEST(contains(r.body, "必須變更密碼"));
  BOOST_TEST(contains(r.body, "2027年1月18日 上午8:00（UTC）"));
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
    BOOST_TEST(!contains(r.body, "2027-01-15T08:00:00Z"), loc);
    BOOST_TEST(!contains(r.body, "Xq7-secret-Pw9"), loc);
  }
  BOOST_TEST(contains(render("notice", "en", vars).body,
                      "Your password was reset by helpdesk1 at January 15, 2027, 8:00 AM (UTC). If you did "
                      "not expect this, contact IT."));
}

BOOST_AUTO_TEST_CASE(render_times_are_local_with_the_zone_in_the_readers_language) {
  std::map<std::string, std::string> vars = kPasswordVars;  // 2027-01-18T08:00:00Z
  {
    Zone local("<+03>-3");  // Istanbul
    BOOST_TEST(contains(render("password", "tr-TR", vars).body, "18 Ocak 2027 11:00 (UTC+03:00)"));
    BOOST_TEST(contains(render("password", "en", vars).body, "January 18, 2027, 11:00 AM (UTC+03:00)"));
  }
  {
    Zone local("CST-8");  // Taipei: afternoon is 下午, morning 上午 (never 清晨)
    BOOST_TEST(contains(render("password", "zh-TW", vars).body, "2027年1月18日 下午4:00（CST, UTC+08:00）"));
    vars["expires_at"] = "2027-01-17T23:45:00Z";
    BOOST_TEST(contains(render("password", "zh-TW", vars).body, "2027年1月18日 上午7:45（CST, UTC+08:00）"));
  }
  {
    Zone local("EST5EDT,M3.2.0,M11.1.0");  // west of UTC, with a named zone
    vars["expires_at"] = "2027-07-01T16:05:00Z";
    BOOST_TEST(contains(render("password", "en", vars).body, "July 1, 2027, 12:05 PM (EDT, UTC-04:00)"));
  }
  vars["expires_at"] = "not a time";
  BOOST_TEST(contains(render("password", "en", vars).body, "not a time"));
}

BOOST_AUTO_TEST_CASE(render_welcome_texts_greet_a_new_account_and_never_say_reset) {
  std::map<std::string, std::string> vars = kPasswordVars;
  vars["link"] = "https://appliance.local/#/set-password?token=abc";
  vars["actor"] = "helpdesk1";
  vars["when"] = "2027-01-15T08:00:00Z";
  for (const char* kind : {"welcome_password", "welcome_link", "welcome_notice"}) {
    for (const char* loc : {"en", "zh-TW", "tr-TR"}) {
      auto r = render(kind, loc, vars);
      const std::string all = r.subject + r.body;
      BOOST_TEST(!contains(all, "reset"), kind << " " << loc);
      BOOST_TEST(!contains(all, "重設"), kind << " " << loc);
      BOOST_TEST(!contains(all, "sıfırla"), kind << " " << loc);
      BOOST_TEST(contains(r.body, "Ayşe Yılmaz"), kind << " " << loc);
      BOOST_TEST(!contains(r.body, "{"), kind << " " << loc);
    }
  }
  BOOST_TEST(render("welcome_password", "tr-TR", vars).subject == "Hoş geldiniz: yeni hesabınız");
  // Labelled a welcome in every language, never "new password" / "reset".
  BOOST_TEST(render("welcome_link", "en", vars).subject.starts_with("Welcome"));
  BOOST_TEST(render("welcome_notice", "zh-TW", vars).subject.starts_with("歡迎"));
  BOOST_TEST(contains(render("welcome_password", "tr-TR", vars).body, "Geçici parola: Xq7-secret-Pw9"));
  BOOST_TEST(!contains(render("welcome_notice", "en", vars).body, "Xq7-secret-Pw9"));
  BOOST_TEST(contains(render("welcome_link", "zh-TW", vars).body, vars["link"]));
}

BOOST_AUTO_TEST_CASE(render_code_and_reminder_greet_the_display_name) {
  std::map<std::string, std::string> vars = {{"username", "ayse"}, {"display_name", "Ayşe Yılmaz"},
                                             {"code", "12345678"}, {"expires_at", "2027-01-15T08:00:00Z"}};
  for (const char* loc : {"en", "zh-TW", "tr-TR"}) {
    BOOST_TEST(contains(render("code", loc, vars).body, "Ayşe Yılmaz"), loc);
    BOOST_TEST(contains(render("reminder", loc, vars).body, "Ayşe Yılmaz"), loc);
  }
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

// Issue 23: the notice says how the caller was checked, and only when told.
BOOST_AUTO_TEST_CASE(render_notice_says_how_the_caller_was_checked_in_each_locale) {
  const std::map<std::string, std::string> base = {{"display_name", "Ann"}, {"actor", "hd"}, {"when", "x"}};
  auto plain = render("notice", "en", base);
  BOOST_CHECK_EQUAL(plain.body.find("caller"), std::string::npos);
  for (const char* loc : {"en", "zh-TW", "tr-TR"}) {
    auto v = base;
    v["caller_code_to"] = "a***@home.example";
    auto r = render("notice", loc, v);
    BOOST_CHECK_NE(r.body.find("a***@home.example"), std::string::npos);
    auto code = render("caller_code", loc, {{"display_name", "Ann"}, {"code", "123456"}, {"actor", "hd"}});
    BOOST_CHECK_NE(code.body.find("123456"), std::string::npos);
    BOOST_CHECK(!code.subject.empty() && code.subject != "resetd");
    auto ov = render("caller_override", loc, {{"actor", "hd"}, {"username", "ann"}, {"reason", "lost phone"}});
    BOOST_CHECK_NE(ov.body.find("lost phone"), std::string::npos);
  }
}
