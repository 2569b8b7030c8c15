// See ldap_values.h; dn_key (directory.h) lives here too.
#define LDAP_DEPRECATED 0
#include <ldap.h>
#include "ldap_lazy.h"  // after ldap.h: libldap loaded on first use

#include <cstdint>

#include "ldap_values.h"
#include "resetd/directory/directory.h"

namespace resetd::directory {

std::string ad_password_value(const std::string& pw) {
  std::string q = "\"" + pw + "\"";
  std::string out;
  auto put = [&](uint32_t u) {
    out.push_back(static_cast<char>(u & 0xff));
    out.push_back(static_cast<char>((u >> 8) & 0xff));
  };
  for (size_t i = 0; i < q.size();) {
    const auto c = static_cast<unsigned char>(q[i]);
    uint32_t cp = 0;
    size_t n = 1;
    if (c < 0x80) cp = c;
    else if ((c >> 5) == 0x6) { cp = c & 0x1f; n = 2; }
    else if ((c >> 4) == 0xe) { cp = c & 0x0f; n = 3; }
    else { cp = c & 0x07; n = 4; }
    for (size_t k = 1; k < n && i + k < q.size(); ++k)
      cp = (cp << 6) | (static_cast<unsigned char>(q[i + k]) & 0x3f);
    i += n;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      put(0xd800 + (cp >> 10));
      put(0xdc00 + (cp & 0x3ff));
    } else {
      put(cp);
    }
  }
  return out;
}

std::string hex(const char* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    const auto b = static_cast<unsigned char>(p[i]);
    s.push_back(d[b >> 4]);
    s.push_back(d[b & 15]);
  }
  return s;
}

std::string escape_filter(const std::string& v) {
  struct berval in{static_cast<ber_len_t>(v.size()), const_cast<char*>(v.data())};
  struct berval out{0, nullptr};
  if (ldap_bv2escaped_filter_value(&in, &out) != 0 || !out.bv_val) return {};
  std::string s(out.bv_val, out.bv_len);
  ber_memfree(out.bv_val);
  return s;
}
std::string dn_key(const std::string& dn) {
  char* norm = nullptr;
  std::string s = dn;
  if (ldap_dn_normalize(dn.c_str(), LDAP_DN_FORMAT_LDAP, &norm, LDAP_DN_FORMAT_LDAPV3) == LDAP_SUCCESS &&
      norm)
    s = norm;
  if (norm) ldap_memfree(norm);
  for (char& ch : s)
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  return s;
}

}  // namespace resetd::directory
