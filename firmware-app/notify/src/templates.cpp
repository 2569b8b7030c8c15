// Notification texts per locale. Placeholders are {name}; values are put in
// one pass, so a value that itself looks like "{x}" is never expanded again.
#include "resetd/notify/templates.h"
#include "texts.h"

#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>

namespace resetd::notify {
namespace {

// Blocks shared by the reset and welcome mails of one locale (string literals,
// so the texts below stay compile-time constants).
#define FOOTER_EN "If you did not expect this message, contact IT.\n"
#define FOOTER_ZH "如果您沒有預期收到這封郵件，請聯絡 IT 人員。\n"
#define FOOTER_TR "Bu iletiyi beklemiyorsanız BT ekibiyle iletişime geçin.\n"
#define TEMP_PASSWORD_EN(WHEN) \
  "Temporary password: {password}\n" \
  "\n" \
  "This password is temporary. It expires " WHEN " {expires_at}, and you must change it\n" \
  "when you first sign in.\n" \
  "\n" \
  "?Sign in at: {sign_in_url}\n" \
  "?\n"
#define TEMP_PASSWORD_ZH \
  "臨時密碼：{password}\n" \
  "\n" \
  "這是臨時密碼，將於 {expires_at} 到期；您第一次登入時必須變更密碼。\n" \
  "\n" \
  "?登入網址：{sign_in_url}\n" \
  "?\n"
#define TEMP_PASSWORD_TR \
  "Geçici parola: {password}\n" \
  "\n" \
  "Bu parola geçicidir. {expires_at} tarihinde süresi dolar ve ilk oturum açışınızda\n" \
  "parolanızı değiştirmeniz gerekir.\n" \
  "\n" \
  "?Oturum açma adresi: {sign_in_url}\n" \
  "?\n"

// clang-format off
constexpr KindTexts kTexts[] = {
  {"password",
   {"Your new password",
    "Hello {display_name},\n"
    "\n"
    "An administrator has reset the password of your account \"{username}\".\n"
    "\n"
    TEMP_PASSWORD_EN("at")
    FOOTER_EN},
   {"您的新密碼",
    "{display_name} 您好：\n"
    "\n"
    "管理員已重設您的帳戶「{username}」的密碼。\n"
    "\n"
    TEMP_PASSWORD_ZH
    FOOTER_ZH},
   {"Yeni parolanız",
    "Merhaba {display_name},\n"
    "\n"
    "Bir yönetici \"{username}\" hesabınızın parolasını sıfırladı.\n"
    "\n"
    TEMP_PASSWORD_TR
    FOOTER_TR}},
  {"link",
   {"Set your new password",
    "Hello {display_name},\n"
    "\n"
    "An administrator has reset the password of your account \"{username}\".\n"
    "Your old password no longer works. Choose a new password here:\n"
    "\n"
    "{link}\n"
    "\n"
    "The link can be used once and expires at {expires_at}.\n"
    "\n"
    FOOTER_EN},
   {"設定您的新密碼",
    "{display_name} 您好：\n"
    "\n"
    "管理員已重設您的帳戶「{username}」的密碼，舊密碼已無法使用。\n"
    "請透過以下連結設定新密碼：\n"
    "\n"
    "{link}\n"
    "\n"
    "此連結只能使用一次，將於 {expires_at} 到期。\n"
    "\n"
    FOOTER_ZH},
   {"Yeni parolanızı belirleyin",
    "Merhaba {display_name},\n"
    "\n"
    "Bir yönetici \"{username}\" hesabınızın parolasını sıfırladı.\n"
    "Eski parolanız artık çalışmıyor. Yeni parolanızı buradan belirleyin:\n"
    "\n"
    "{link}\n"
    "\n"
    "Bağlantı yalnızca bir kez kullanılabilir ve {expires_at} tarihinde süresi dolar.\n"
    "\n"
    FOOTER_TR}},
  {"notice",
   {"Your password was reset",
    "Hello {display_name},\n"
    "\n"
    "Your password was reset by {actor} at {when}. If you did not expect this, contact IT.\n"
    "?The caller was verified with a one-time code sent to {caller_code_to}.\n"
    "?The caller was verified with a code from the authenticator app of {caller_app_of}.\n"
    "?{caller_unverified_by} did not verify the caller before this reset.\n"},
   {"您的密碼已重設",
    "{display_name} 您好：\n"
    "\n"
    "您的密碼已於 {when} 由 {actor} 重設。\n"
    "?來電者已透過寄送至 {caller_code_to} 的一次性驗證碼完成驗證。\n"
    "?來電者已透過 {caller_app_of} 的驗證器應用程式代碼完成驗證。\n"
    "?{caller_unverified_by} 在此次重設前未驗證來電者身分。\n"
    "\n"
    "如果這不在您的預期之中，請聯絡 IT 人員。\n"},
   {"Parolanız sıfırlandı",
    "Merhaba {display_name},\n"
    "\n"
    "Parolanız {when} tarihinde {actor} tarafından sıfırlandı.\n"
    "?Arayan, {caller_code_to} adresine gönderilen tek kullanımlık kodla doğrulandı.\n"
    "?Arayan, {caller_app_of} kullanıcısının doğrulayıcı uygulamasındaki kodla doğrulandı.\n"
    "?{caller_unverified_by}, bu sıfırlamadan önce arayanı doğrulamadı.\n"
    "\n"
    "Bunu beklemiyorsanız BT ekibiyle iletişime geçin.\n"}},
  {"code",
   {"Your password reset code",
    "Hello {display_name},\n"
    "\n"
    "Your password reset code is: {code}\n"
    "\n"
    "It expires at {expires_at}. If you did not ask to reset your password,\n"
    "ignore this message and contact IT.\n"},
   {"您的密碼重設驗證碼",
    "{display_name} 您好：\n"
    "\n"
    "您的密碼重設驗證碼為：{code}\n"
    "\n"
    "此驗證碼將於 {expires_at} 到期。如果您沒有要求重設密碼，\n"
    "請忽略這封郵件並聯絡 IT 人員。\n"},
   {"Parola sıfırlama kodunuz",
    "Merhaba {display_name},\n"
    "\n"
    "Parola sıfırlama kodunuz: {code}\n"
    "\n"
    "Kodun süresi {expires_at} tarihinde dolar. Parola sıfırlama isteğinde\n"
    "bulunmadıysanız bu iletiyi yok sayın ve BT ekibiyle iletişime geçin.\n"}},
  {"reminder",
   {"Your password expires soon",
    "Hello {display_name},\n"
    "\n"
    "Your password expires at {expires_at}. Please change it before then.\n"},
   {"您的密碼即將到期",
    "{display_name} 您好：\n"
    "\n"
    "您的密碼將於 {expires_at} 到期，請在此之前變更密碼。\n"},
   {"Parolanızın süresi yakında doluyor",
    "Merhaba {display_name},\n"
    "\n"
    "Parolanızın süresi {expires_at} tarihinde doluyor. Lütfen bu tarihten önce\n"
    "parolanızı değiştirin.\n"}},
  {"address_change",
   {"The email addresses of your account were changed",
    "Hello {display_name},\n"
    "\n"
    "The email addresses of your account \"{username}\" were changed by {actor} at {when}.\n"
    "Password reset codes now go to the new addresses; codes sent before are void.\n"
    "\n"
    "If you did not make this change, contact IT at once.\n"},
   {"您帳戶的電子郵件地址已變更",
    "{display_name} 您好：\n"
    "\n"
    "您的帳戶「{username}」的電子郵件地址已由 {actor} 於 {when} 變更。\n"
    "密碼重設驗證碼今後將寄到新的地址；先前寄出的驗證碼已失效。\n"
    "\n"
    "如果這不是您所做的變更，請立即聯絡 IT 人員。\n"},
   {"Hesabınızın e-posta adresleri değiştirildi",
    "Merhaba {display_name},\n"
    "\n"
    "\"{username}\" hesabınızın e-posta adresleri {when} tarihinde {actor} tarafından değiştirildi.\n"
    "Parola sıfırlama kodları artık yeni adreslere gider; daha önce gönderilen kodlar geçersizdir.\n"
    "\n"
    "Bu değişikliği siz yapmadıysanız hemen BT ile iletişime geçin.\n"}},
  // A new account's mails: welcome, never "your password was reset".
  {"welcome_password",
   {"Welcome: your new account",
    "Hello {display_name},\n"
    "\n"
    "An account was created for you: \"{username}\".\n"
    "\n"
    TEMP_PASSWORD_EN("on")
    FOOTER_EN},
   {"歡迎：您的新帳戶",
    "{display_name} 您好：\n"
    "\n"
    "已為您建立帳戶「{username}」。\n"
    "\n"
    TEMP_PASSWORD_ZH
    FOOTER_ZH},
   {"Hoş geldiniz: yeni hesabınız",
    "Merhaba {display_name},\n"
    "\n"
    "Sizin için \"{username}\" hesabı oluşturuldu.\n"
    "\n"
    TEMP_PASSWORD_TR
    FOOTER_TR}},
  {"welcome_link",
   {"Welcome: set the password of your new account",
    "Hello {display_name},\n"
    "\n"
    "An account was created for you: \"{username}\". Choose its password here:\n"
    "\n"
    "{link}\n"
    "\n"
    "The link can be used once and expires on {expires_at}.\n"
    "\n"
    FOOTER_EN},
   {"歡迎：設定您新帳戶的密碼",
    "{display_name} 您好：\n"
    "\n"
    "已為您建立帳戶「{username}」。請透過以下連結設定密碼：\n"
    "\n"
    "{link}\n"
    "\n"
    "此連結只能使用一次，將於 {expires_at} 到期。\n"
    "\n"
    FOOTER_ZH},
   {"Hoş geldiniz: yeni hesabınızın parolasını belirleyin",
    "Merhaba {display_name},\n"
    "\n"
    "Sizin için \"{username}\" hesabı oluşturuldu. Parolasını buradan belirleyin:\n"
    "\n"
    "{link}\n"
    "\n"
    "Bağlantı yalnızca bir kez kullanılabilir ve {expires_at} tarihinde süresi dolar.\n"
    "\n"
    FOOTER_TR}},
  {"welcome_notice",
   {"Welcome: your new account",
    "Hello {display_name},\n"
    "\n"
    "{actor} created an account for you, \"{username}\", on {when}.\n"
    "IT gives you its password, or a link to set it, separately.\n"
    "\n"
    "If you did not expect this, contact IT.\n"},
   {"歡迎：您的新帳戶",
    "{display_name} 您好：\n"
    "\n"
    "{actor} 已於 {when} 為您建立帳戶「{username}」。\n"
    "IT 人員會另外提供密碼或設定密碼的連結。\n"
    "\n"
    "如果這不在您的預期之中，請聯絡 IT 人員。\n"},
   {"Hoş geldiniz: yeni hesabınız",
    "Merhaba {display_name},\n"
    "\n"
    "{actor}, {when} tarihinde sizin için \"{username}\" hesabını oluşturdu.\n"
    "Parolayı veya parolayı belirleme bağlantısını BT ekibi ayrıca iletir.\n"
    "\n"
    "Bunu beklemiyorsanız BT ekibiyle iletişime geçin.\n"}},
  {"test",
   {"resetd test message",
    "This is a test message from resetd. The relay settings work.\n"},
   {"resetd 測試郵件",
    "這是 resetd 傳送的測試郵件，郵件轉送設定正常運作。\n"},
   {"resetd deneme iletisi",
    "Bu, resetd tarafından gönderilen bir deneme iletisidir. Aktarıcı ayarları çalışıyor.\n"}},
};
// clang-format on
#undef FOOTER_EN
#undef FOOTER_ZH
#undef FOOTER_TR
#undef TEMP_PASSWORD_EN
#undef TEMP_PASSWORD_ZH
#undef TEMP_PASSWORD_TR

std::string lower_ascii(const std::string& s) {
  std::string out = s;
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

enum class Lang { En, ZhTw, TrTr };

Lang pick(const std::string& locale) {
  std::string l = lower_ascii(locale);
  for (char& c : l) {
    if (c == '_') c = '-';
  }
  if (l == "zh-tw" || l.rfind("zh-hant", 0) == 0) return Lang::ZhTw;
  if (l == "tr" || l.rfind("tr-", 0) == 0) return Lang::TrTr;
  return Lang::En;
}

// "2026-12-02T10:29:00Z" → the appliance's local time with its zone, in the
// reader's language: "December 2, 2026, 1:29 PM (UTC+03:00)",
// "2026年12月2日 下午1:29（UTC+03:00）", "2 Aralık 2026 13:29 (UTC+03:00)".
// Anything that is not such a time is returned unchanged.
std::string local_time(const std::string& v, Lang lang) {
  int y = 0, mo = 0, d = 0, hh = 0, mm = 0, ss = 0;
  char z = 0;
  if (v.size() != 20 || std::sscanf(v.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &hh, &mm, &ss, &z) != 7 ||
      z != 'Z' || mo < 1 || mo > 12)
    return v;
  std::tm utc{};
  utc.tm_year = y - 1900;
  utc.tm_mon = mo - 1;
  utc.tm_mday = d;
  utc.tm_hour = hh;
  utc.tm_min = mm;
  utc.tm_sec = ss;
  const std::time_t t = timegm(&utc);
  std::tm lt{};
  if (localtime_r(&t, &lt) == nullptr) return v;
  const long off = lt.tm_gmtoff;
  char zone[32];
  if (off == 0) {
    std::snprintf(zone, sizeof zone, "UTC");
  } else {
    const long a = off < 0 ? -off : off;
    std::snprintf(zone, sizeof zone, "UTC%c%02ld:%02ld", off < 0 ? '-' : '+', a / 3600, (a % 3600) / 60);
  }
  std::string abbr = lt.tm_zone ? lt.tm_zone : "";
  bool named = !abbr.empty() && abbr != "UTC" && abbr != "GMT";
  for (char c : abbr) named = named && std::isalpha(static_cast<unsigned char>(c));
  const std::string zs = named ? abbr + ", " + zone : std::string(zone);
  static const char* const kEn[] = {"January", "February", "March", "April", "May", "June", "July",
                                    "August", "September", "October", "November", "December"};
  static const char* const kTr[] = {"Ocak", "Şubat", "Mart", "Nisan", "Mayıs", "Haziran", "Temmuz",
                                    "Ağustos", "Eylül", "Ekim", "Kasım", "Aralık"};
  const int h12 = lt.tm_hour % 12 == 0 ? 12 : lt.tm_hour % 12;
  char buf[128];
  switch (lang) {
    case Lang::ZhTw:
      std::snprintf(buf, sizeof buf, "%d年%d月%d日 %s%d:%02d（%s）", lt.tm_year + 1900, lt.tm_mon + 1,
                    lt.tm_mday, lt.tm_hour < 12 ? "上午" : "下午", h12, lt.tm_min, zs.c_str());
      break;
    case Lang::TrTr:
      std::snprintf(buf, sizeof buf, "%d %s %d %02d:%02d (%s)", lt.tm_mday, kTr[lt.tm_mon],
                    lt.tm_year + 1900, lt.tm_hour, lt.tm_min, zs.c_str());
      break;
    case Lang::En:
      std::snprintf(buf, sizeof buf, "%s %d, %d, %d:%02d %s (%s)", kEn[lt.tm_mon], lt.tm_mday,
                    lt.tm_year + 1900, h12, lt.tm_min, lt.tm_hour < 12 ? "AM" : "PM", zs.c_str());
      break;
  }
  return buf;
}

std::string fill_line(const std::string& t, const std::map<std::string, std::string>& vars,
                      bool* had_empty) {
  std::string out;
  out.reserve(t.size() + 64);
  size_t i = 0;
  while (i < t.size()) {
    size_t open = t.find('{', i);
    if (open == std::string::npos) break;
    size_t close = t.find('}', open + 1);
    if (close == std::string::npos) break;
    out.append(t, i, open - i);
    auto it = vars.find(t.substr(open + 1, close - open - 1));
    if (it != vars.end() && !it->second.empty()) {
      out += it->second;
    } else {
      *had_empty = true;
    }
    i = close + 1;
  }
  out.append(t, i, std::string::npos);
  return out;
}

// A template line starting with '?' is optional: it is left out when a value
// it shows is missing or empty (e.g. "Sign in at:" on a site without a
// public_url), as is the blank '?' line after it.
std::string fill(const char* tmpl, const std::map<std::string, std::string>& vars) {
  std::string t = tmpl;
  std::string out;
  bool dropped_previous = false;
  size_t start = 0;
  while (start < t.size()) {
    size_t nl = t.find('\n', start);
    size_t end = nl == std::string::npos ? t.size() : nl + 1;
    std::string line = t.substr(start, end - start);
    start = end;
    const bool optional = !line.empty() && line[0] == '?';
    if (optional) line.erase(0, 1);
    if (optional && (line == "\n" || line.empty())) {
      if (!dropped_previous) out += line;
      continue;
    }
    bool had_empty = false;
    std::string filled = fill_line(line, vars, &had_empty);
    dropped_previous = optional && had_empty;
    if (!dropped_previous) out += filled;
  }
  return out;
}

// An IANA zone name the browser's Intl knows, or empty.
std::string iana_name(std::string v) {
  if (!v.empty() && v[0] == ':') v.erase(0, 1);
  if (auto at = v.find("zoneinfo/"); at != std::string::npos) v = v.substr(at + 9);
  if (v.empty() || v[0] == '/' || v.find("..") != std::string::npos) return "";
  for (char c : v)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '/' && c != '_' && c != '-' && c != '+')
      return "";
  std::error_code ec;
  if (v != "UTC" && !std::filesystem::exists("/usr/share/zoneinfo/" + v, ec)) return "";
  return v;
}

}  // namespace

Zone appliance_zone() {
  Zone z;
  const std::time_t now = std::time(nullptr);
  std::tm lt{};
  if (localtime_r(&now, &lt) != nullptr) z.offset_s = lt.tm_gmtoff;
  if (const char* tz = std::getenv("TZ")) {
    z.name = *tz ? iana_name(tz) : "UTC";
    return z;
  }
  std::error_code ec;
  if (!std::filesystem::exists("/etc/localtime", ec)) {
    z.name = "UTC";  // what the C library uses then
    return z;
  }
  auto target = std::filesystem::read_symlink("/etc/localtime", ec);
  if (!ec) z.name = iana_name(target.string());
  if (z.name.empty() && z.offset_s == 0) z.name = "UTC";
  return z;
}

Rendered render(const std::string& kind, const std::string& locale,
                const std::map<std::string, std::string>& vars) {
  const KindTexts* k = nullptr;
  for (const auto& entry : kTexts) {
    if (kind == entry.kind) k = &entry;
  }
  for (const auto& entry : caller_texts()) {
    if (kind == entry.kind) k = &entry;
  }
  if (k == nullptr) {
    // An unknown kind is a programming error; render something harmless
    // rather than an empty mail.
    return Rendered{"resetd", ""};
  }
  const Text& t = [&]() -> const Text& {
    switch (pick(locale)) {
      case Lang::ZhTw:
        return k->zh_tw;
      case Lang::TrTr:
        return k->tr_tr;
      case Lang::En:
        break;
    }
    return k->en;
  }();
  // Times are shown as the reader's clock shows them, never as raw UTC.
  std::map<std::string, std::string> shown = vars;
  for (const char* key : {"expires_at", "when"}) {
    auto it = shown.find(key);
    if (it != shown.end()) it->second = local_time(it->second, pick(locale));
  }
  return Rendered{fill(t.subject, shown), fill(t.body, shown)};
}

}  // namespace resetd::notify
