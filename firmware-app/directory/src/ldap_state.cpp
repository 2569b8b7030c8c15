// Account state the directory owns (see ldap_search.h): its lockout, whether
// a must-change reset's password is still unchanged, and whether OpenLDAP's
// ppolicy enforces must-change at all.
#include <cstdlib>

#include "ldap_search.h"

namespace resetd::directory {

namespace {
// AD times are 100 ns intervals since 1601-01-01.
constexpr int64_t kFileTimeToUnix = 11644473600;
int64_t to_i64(const std::string& s) { return std::strtoll(s.c_str(), nullptr, 10); }
}  // namespace

std::vector<std::string> lock_attrs(bool ad) {
  if (ad) return {"lockoutTime"};
  return {"pwdAccountLockedTime"};
}

// AD: lockoutTime stays set after lockoutDuration has run out (the DC only
// ignores it), so the domain's duration decides; OpenLDAP: the attribute is
// there while locked (with pwdLockoutDuration > 0 it is removed only at the
// next bind, so an expired lock can show until then).
LockPolicy lock_policy(Session& c, const struct timeval& tv, bool ad) {
  LockPolicy p;
  if (!ad) return p;
  for (const auto& nc : naming_contexts(c, tv, true)) {
    std::vector<std::string> v;
    if (!read_values(c, tv, nc, "lockoutDuration", &v).ok() || v.empty()) continue;
    const int64_t d = to_i64(v[0]);  // negative 100 ns; 0 or INT64_MIN = until unlocked
    p.known = true;
    p.duration_s = (d == 0 || d == INT64_MIN) ? -1 : (-d) / 10000000;
    break;
  }
  return p;
}

bool entry_locked(LDAP* ld, LDAPMessage* e, bool ad, const LockPolicy& p, int64_t now) {
  const char* attr = ad ? "lockoutTime" : "pwdAccountLockedTime";
  struct berval** vals = ldap_get_values_len(ld, e, attr);
  std::string v;
  if (vals && vals[0]) v.assign(vals[0]->bv_val, vals[0]->bv_len);
  if (vals) ldap_value_free_len(vals);
  if (v.empty()) return false;
  if (!ad) return true;
  const int64_t t = to_i64(v);
  if (t <= 0) return false;
  if (!p.known || p.duration_s < 0) return true;
  return t / 10000000 - kFileTimeToUnix + p.duration_s > now;
}

std::string must_change_gap(Session& c, const struct timeval& tv, const std::string& dn) {
  std::vector<std::string> policies;
  if (!dn.empty()) read_values(c, tv, dn, "pwdPolicySubentry", &policies);
  std::map<std::string, bool> must;  // policy DN -> pwdMustChange TRUE
  if (!policies.empty()) {
    std::vector<std::string> v;
    if (!read_values(c, tv, policies[0], "pwdMustChange", &v).ok()) return "";
    must[policies[0]] = !v.empty() && v[0] == "TRUE";
  } else {
    Config cfg;
    cfg.page_size = 100;
    for (const auto& base : naming_contexts(c, tv, false))
      paged_search(c, cfg, tv, base, LDAP_SCOPE_SUBTREE, "(objectClass=pwdPolicy)", {"pwdMustChange"}, 100,
                   [&](LDAP* ld, LDAPMessage* e) {
                     char* d = ldap_get_dn(ld, e);
                     if (!d) return;
                     struct berval** vals = ldap_get_values_len(ld, e, "pwdMustChange");
                     must[d] = vals && vals[0] && std::string(vals[0]->bv_val, vals[0]->bv_len) == "TRUE";
                     if (vals) ldap_value_free_len(vals);
                     ldap_memfree(d);
                   });
  }
  if (must.empty()) return "";  // no policy readable: nothing to say
  std::string lacking;
  for (const auto& [p, yes] : must) {
    if (yes) return "";  // one that enforces it may be the one in force
    if (lacking.empty()) lacking = p;
  }
  return "The directory's password policy " + lacking +
         " does not set pwdMustChange: TRUE, so OpenLDAP does not make the user change this password. "
         "Add pwdMustChange: TRUE to that pwdPolicy entry.";
}

Answer change_pending(Session& c, const struct timeval& tv, bool ad, const std::string& dn, bool* pending) {
  std::vector<std::string> v;
  Answer a = read_values(c, tv, dn, ad ? "pwdLastSet" : "pwdReset", &v);
  if (!a.ok()) return a;
  // AD: pwdLastSet 0 until the user sets their own; ppolicy removes pwdReset then.
  *pending = !v.empty() && v[0] == (ad ? "0" : "TRUE");
  if (ad && v.empty()) return {Outcome::Refused, 0, "pwdLastSet of " + dn + " is not readable"};
  return a;
}

}  // namespace resetd::directory
