// Notification texts per locale (en, zh-TW, tr-TR; anything else falls back
// to en). Pure functions, thread-safe.
#pragma once

#include <map>
#include <string>

namespace resetd::notify {

struct Rendered {
  std::string subject;
  std::string body;  // LF line ends
};

// kind: "password"  vars: username, display_name, password, expires_at, sign_in_url
//       "link"      vars: username, display_name, link, expires_at
//       "notice"    vars: username, display_name, actor, when   (no secret)
//       "code"      vars: username, code, expires_at            (issue 4)
//       "reminder"  vars: username, expires_at                  (issue 4)
//       "welcome_password", "welcome_link", "welcome_notice": as password / link /
//                   notice, for a newly created account
//       "test"      vars: (none)
// expires_at and when are RFC 3339 UTC; they are shown in the process's local
// time zone (TZ, /etc/localtime) with the zone, formatted for the locale.
// Missing vars render as empty strings.
Rendered render(const std::string& kind, const std::string& locale,
                const std::map<std::string, std::string>& vars);

// The time zone the mails above show their times in (the process's local
// zone), so the web UI can show the same hours: its IANA name where known
// ("Europe/Istanbul", "UTC"), else empty, and its offset from UTC now.
struct Zone {
  std::string name;
  long offset_s = 0;
};
Zone appliance_zone();

}  // namespace resetd::notify
