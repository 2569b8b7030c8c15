// OpenLDAP ("ldap") and Active Directory ("ad") through libldap 2.5 — the
// only file that includes <ldap.h>. Recipes proven against slapd 2.5.13 and
// Samba 4.17 (../shared/lab/directory/NOTES.md): per-handle TLS context
// (CACERTFILE, REQUIRE_CERT=DEMAND, then NEWCTX last), StartTLS mandatory on
// ldap://, async binds so the ppolicy response control can be read.
#define LDAP_DEPRECATED 0
#include <ldap.h>
#include "ldap_lazy.h"  // after ldap.h: libldap loaded on first use
#include <strings.h>
#include <sys/time.h>

#include <cstdio>
#include <cstring>
#include <cstdlib>

#include "resetd/directory/directory.h"

namespace resetd::directory {
namespace {

std::string rc_text(int rc) { return std::string(ldap_err2string(rc)) + " (" + std::to_string(rc) + ")"; }

bool contains(const std::string& s, const char* needle) { return s.find(needle) != std::string::npos; }

// Transport-level failures: the directory cannot be reached or trusted.
bool transport_rc(int rc) {
  return rc < 0 || rc == LDAP_BUSY || rc == LDAP_UNAVAILABLE || rc == LDAP_STRONG_AUTH_REQUIRED ||
         rc == LDAP_CONFIDENTIALITY_REQUIRED;
}

// UTF-16LE of "\"" + pw + "\"" (AD's unicodePwd value). Input is valid UTF-8
// (AccountService checks before).
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

class Conn {
 public:
  Conn() = default;
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  ~Conn() {
    if (ld) ldap_unbind_ext_s(ld, nullptr, nullptr);
  }
  LDAP* ld = nullptr;
};

struct Parsed {
  int rc = 0;
  std::string diag;
  int pp_error = -1;  // LDAPPasswordPolicyError, -1 = no control
};

class LdapDirectory final : public Directory {
 public:
  explicit LdapDirectory(Config c) : cfg_(std::move(c)), ad_(cfg_.kind == "ad") {
    tv_.tv_sec = cfg_.timeout_s;
    tv_.tv_usec = 0;
  }
  std::string kind() const override { return cfg_.kind; }
  bool local() const override { return false; }
  const Config& config() const override { return cfg_; }

  Answer test_connection() override {
    Conn c;
    if (Answer a = connect_service(c); !a.ok()) return a;
    // Read the users' base: proves the service account can see it.
    LDAPMessage* res = nullptr;
    char* attrs[] = {const_cast<char*>("1.1"), nullptr};
    int rc = ldap_search_ext_s(c.ld, cfg_.users_base.c_str(), LDAP_SCOPE_BASE, "(objectClass=*)",
                               attrs, 0, nullptr, nullptr, &tv_, 1, &res);
    std::string diag = diagnostic(c.ld);
    if (res) ldap_msgfree(res);
    if (rc != LDAP_SUCCESS)
      return op_answer(rc, "users_base " + cfg_.users_base + ": " + rc_text(rc) +
                               (diag.empty() ? "" : ": " + diag));
    char* who = nullptr;
    std::string text = "Bound as " + cfg_.bind_dn + " over TLS; users_base readable";
    (void)who;
    return {Outcome::Ok, 0, text};
  }

  Answer list_users(const std::function<void(const Entry&)>& each) override {
    Conn c;
    if (Answer a = connect_service(c); !a.ok()) return a;
    auto attrs_v = attr_list();
    std::vector<char*> attrs;
    for (auto& s : attrs_v) attrs.push_back(s.data());
    attrs.push_back(nullptr);
    struct berval* cookie = nullptr;
    int64_t seen = 0;
    Answer result{Outcome::Ok, 0, ""};
    for (;;) {
      LDAPControl* page = nullptr;
      if (ldap_create_page_control(c.ld, static_cast<ber_int_t>(cfg_.page_size), cookie, 1, &page) !=
          LDAP_SUCCESS) {
        result = {Outcome::Refused, LDAP_LOCAL_ERROR, "cannot build the paged-results control"};
        break;
      }
      LDAPControl* sctrls[] = {page, nullptr};
      LDAPMessage* res = nullptr;
      int rc = ldap_search_ext_s(c.ld, cfg_.users_base.c_str(), LDAP_SCOPE_SUBTREE,
                                 cfg_.user_filter.c_str(), attrs.data(), 0, sctrls, nullptr, &tv_,
                                 0, &res);
      ldap_control_free(page);
      if (rc != LDAP_SUCCESS) {
        std::string diag = diagnostic(c.ld);
        if (res) ldap_msgfree(res);
        result = op_answer(rc, "search: " + rc_text(rc) + (diag.empty() ? "" : ": " + diag));
        break;
      }
      for (LDAPMessage* e = ldap_first_entry(c.ld, res); e; e = ldap_next_entry(c.ld, e)) {
        Entry en = read_entry(c.ld, e);
        if (en.id.empty() || en.username.empty()) continue;
        if (++seen > cfg_.max_users) break;
        each(en);
      }
      LDAPControl** rctrls = nullptr;
      int err = 0;
      ldap_parse_result(c.ld, res, &err, nullptr, nullptr, nullptr, &rctrls, 1);
      if (cookie) ber_bvfree(cookie);
      cookie = nullptr;
      if (LDAPControl* pr = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, rctrls, nullptr)) {
        ber_int_t estimate = 0;
        struct berval ck{0, nullptr};
        if (ldap_parse_pageresponse_control(c.ld, pr, &estimate, &ck) == LDAP_SUCCESS) {
          if (ck.bv_len > 0) cookie = ber_bvdup(&ck);
          ber_memfree(ck.bv_val);
        }
      }
      ldap_controls_free(rctrls);
      if (seen > cfg_.max_users) {
        result = {Outcome::Refused, 0,
                  "more than directory.max_users = " + std::to_string(cfg_.max_users) +
                      " entries match; narrow users_base or user_filter"};
        break;
      }
      if (err != LDAP_SUCCESS) {
        result = op_answer(err, "search: " + rc_text(err));
        break;
      }
      if (!cookie) break;
    }
    if (cookie) ber_bvfree(cookie);
    if (result.ok()) result.text = std::to_string(seen) + " entries";
    return result;
  }

  Answer get_user(const std::string& id, Entry* out) override {
    for (char ch : id)
      if (!std::isxdigit(static_cast<unsigned char>(ch)) && ch != '-')
        return {Outcome::NotFound, LDAP_NO_SUCH_OBJECT, "bad id"};
    std::string filter;
    if (ad_) {
      std::string clean;
      for (char ch : id)
        if (ch != '-') clean.push_back(ch);
      if (clean.size() != 32) return {Outcome::NotFound, LDAP_NO_SUCH_OBJECT, "bad id"};
      filter = "(objectGUID=";
      for (size_t i = 0; i < 32; i += 2) filter += "\\" + clean.substr(i, 2);
      filter += ")";
    } else {
      filter = "(entryUUID=" + id + ")";
    }
    Conn c;
    if (Answer a = connect_service(c); !a.ok()) return a;
    auto attrs_v = attr_list();
    std::vector<char*> attrs;
    for (auto& s : attrs_v) attrs.push_back(s.data());
    attrs.push_back(nullptr);
    LDAPMessage* res = nullptr;
    int rc = ldap_search_ext_s(c.ld, cfg_.users_base.c_str(), LDAP_SCOPE_SUBTREE, filter.c_str(),
                               attrs.data(), 0, nullptr, nullptr, &tv_, 2, &res);
    Answer a{Outcome::NotFound, LDAP_NO_SUCH_OBJECT, "no entry with this id"};
    if (rc == LDAP_SUCCESS) {
      if (LDAPMessage* e = ldap_first_entry(c.ld, res)) {
        *out = read_entry(c.ld, e);
        a = {Outcome::Ok, 0, ""};
      }
    } else {
      a = op_answer(rc, "search: " + rc_text(rc));
    }
    if (res) ldap_msgfree(res);
    return a;
  }

  Answer reset_password(const std::string& dn, const std::string& password,
                        bool require_change) override {
    Conn c;
    if (Answer a = connect_service(c); !a.ok()) return a;
    if (ad_) {
      std::string v = ad_password_value(password);
      struct berval pwv{static_cast<ber_len_t>(v.size()), v.data()};
      struct berval* pwvals[] = {&pwv, nullptr};
      char zero[] = "0", minus1[] = "-1";
      char* lastset[] = {require_change ? zero : minus1, nullptr};
      LDAPMod m1{}, m2{};
      m1.mod_op = LDAP_MOD_REPLACE | LDAP_MOD_BVALUES;
      m1.mod_type = const_cast<char*>("unicodePwd");
      m1.mod_vals.modv_bvals = pwvals;
      m2.mod_op = LDAP_MOD_REPLACE;
      m2.mod_type = const_cast<char*>("pwdLastSet");
      m2.mod_vals.modv_strvals = lastset;
      LDAPMod* mods[] = {&m1, &m2, nullptr};
      return modify(c, dn, mods);
    }
    Answer a = passwd_exop(c, dn, nullptr, password);
    if (!a.ok()) return a;
    // A password administrator (manage) gets pwdReset set by the overlay; an
    // account with only `write` does not: say it explicitly either way.
    char t[] = "TRUE";
    char* vals[] = {t, nullptr};
    LDAPMod m{};
    m.mod_op = require_change ? LDAP_MOD_REPLACE : LDAP_MOD_DELETE;
    m.mod_type = const_cast<char*>("pwdReset");
    m.mod_vals.modv_strvals = require_change ? vals : nullptr;
    LDAPMod* mods[] = {&m, nullptr};
    Answer b = modify(c, dn, mods, /*ignore_absent=*/true);
    if (!b.ok()) {
      b.text = "the password was set, but pwdReset could not be changed: " + b.text;
      b.outcome = Outcome::Ok;  // the password itself is in the directory
    }
    return b;
  }

  Answer change_password(const std::string& dn, const std::string& old_password,
                         const std::string& new_password) override {
    Conn c;
    if (ad_) {
      // A must-change AD user cannot bind (data 773): the service account
      // sends the user's change (delete old + add new) on their behalf.
      if (Answer a = connect_service(c); !a.ok()) return a;
      std::string ov = ad_password_value(old_password), nv = ad_password_value(new_password);
      struct berval obv{static_cast<ber_len_t>(ov.size()), ov.data()};
      struct berval nbv{static_cast<ber_len_t>(nv.size()), nv.data()};
      struct berval* ovals[] = {&obv, nullptr};
      struct berval* nvals[] = {&nbv, nullptr};
      LDAPMod m1{}, m2{};
      m1.mod_op = LDAP_MOD_DELETE | LDAP_MOD_BVALUES;
      m1.mod_type = const_cast<char*>("unicodePwd");
      m1.mod_vals.modv_bvals = ovals;
      m2.mod_op = LDAP_MOD_ADD | LDAP_MOD_BVALUES;
      m2.mod_type = const_cast<char*>("unicodePwd");
      m2.mod_vals.modv_bvals = nvals;
      LDAPMod* mods[] = {&m1, &m2, nullptr};
      return modify(c, dn, mods);
    }
    if (Answer a = open(c); !a.ok()) return a;
    Parsed p = bind(c, dn, old_password);
    Answer b = bind_answer(p, false);
    if (b.outcome != Outcome::Ok && b.outcome != Outcome::MustChange) {
      if (b.outcome == Outcome::InvalidCredentials) b.outcome = Outcome::WrongPassword;
      return b;
    }
    return passwd_exop(c, dn, &old_password, new_password);
  }

  Answer unlock(const std::string& dn) override {
    Conn c;
    if (Answer a = connect_service(c); !a.ok()) return a;
    if (ad_) {
      char zero[] = "0";
      char* vals[] = {zero, nullptr};
      LDAPMod m{};
      m.mod_op = LDAP_MOD_REPLACE;
      m.mod_type = const_cast<char*>("lockoutTime");
      m.mod_vals.modv_strvals = vals;
      LDAPMod* mods[] = {&m, nullptr};
      return modify(c, dn, mods);
    }
    // pwdFailureTime is NO-USER-MODIFICATION; the next good bind clears it.
    LDAPMod m{};
    m.mod_op = LDAP_MOD_DELETE;
    m.mod_type = const_cast<char*>("pwdAccountLockedTime");
    LDAPMod* mods[] = {&m, nullptr};
    return modify(c, dn, mods, true);
  }

  Answer bind_check(const std::string& dn, const std::string& password) override {
    if (password.empty()) return {Outcome::InvalidCredentials, LDAP_INVALID_CREDENTIALS, "empty password"};
    Conn c;
    if (Answer a = open(c); !a.ok()) return a;
    return bind_answer(bind(c, dn, password), false);
  }

  Answer member_of(const std::string& dn, std::vector<std::string>* groups) override {
    groups->clear();
    if (cfg_.roles.empty()) return {Outcome::Ok, 0, ""};
    Conn c;
    if (Answer a = connect_service(c); !a.ok()) return a;
    const std::string filter = "(member=" + escape_filter(dn) + ")";
    char* attrs[] = {const_cast<char*>("1.1"), nullptr};
    for (const auto& [group, role] : cfg_.roles) {
      (void)role;
      LDAPMessage* res = nullptr;
      int rc = ldap_search_ext_s(c.ld, group.c_str(), LDAP_SCOPE_BASE, filter.c_str(), attrs, 0,
                                 nullptr, nullptr, &tv_, 1, &res);
      if (rc == LDAP_SUCCESS && ldap_count_entries(c.ld, res) > 0) groups->push_back(group);
      if (res) ldap_msgfree(res);
      if (transport_rc(rc)) return op_answer(rc, "group search: " + rc_text(rc));
    }
    return {Outcome::Ok, 0, ""};
  }

  Answer group_members(std::map<std::string, std::vector<std::string>>* members) override {
    members->clear();
    if (cfg_.roles.empty()) return {Outcome::Ok, 0, ""};
    Conn c;
    if (Answer a = connect_service(c); !a.ok()) return a;
    char* attrs[] = {const_cast<char*>("member"), nullptr};
    for (const auto& [group, role] : cfg_.roles) {
      (void)role;
      std::vector<std::string>& out = (*members)[group];
      LDAPMessage* res = nullptr;
      int rc = ldap_search_ext_s(c.ld, group.c_str(), LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 0,
                                 nullptr, nullptr, &tv_, 1, &res);
      if (rc == LDAP_NO_SUCH_OBJECT) {  // the group is gone: nobody gets its role
        if (res) ldap_msgfree(res);
        continue;
      }
      if (rc != LDAP_SUCCESS) {
        std::string diag = diagnostic(c.ld);
        if (res) ldap_msgfree(res);
        return op_answer(rc, "group " + group + ": " + rc_text(rc) + (diag.empty() ? "" : ": " + diag));
      }
      Answer result{Outcome::Ok, 0, ""};
      if (LDAPMessage* e = ldap_first_entry(c.ld, res)) {
        BerElement* ber = nullptr;
        for (char* a = ldap_first_attribute(c.ld, e, &ber); a; a = ldap_next_attribute(c.ld, e, ber)) {
          const std::string name = a;
          ldap_memfree(a);
          if (name.size() > 6 && strncasecmp(name.c_str(), "member;", 7) == 0)
            result = {Outcome::Refused, 0,
                      "group " + group + " has more members than one read returns (" + name +
                          "); roles from it are left unchanged"};
        }
        if (ber) ber_free(ber, 0);
        struct berval** vals = ldap_get_values_len(c.ld, e, "member");
        for (size_t i = 0; vals && vals[i]; ++i)
          out.push_back(dn_key(std::string(vals[i]->bv_val, vals[i]->bv_len)));
        if (vals) ldap_value_free_len(vals);
      }
      ldap_msgfree(res);
      if (!result.ok()) return result;
    }
    return {Outcome::Ok, 0, ""};
  }

 private:
  std::vector<std::string> attr_list() const {
    std::vector<std::string> v = {ad_ ? "objectGUID" : "entryUUID", cfg_.attrs.username,
                                  cfg_.attrs.display_name, cfg_.attrs.email};
    if (!cfg_.attrs.alternate_email.empty()) v.push_back(cfg_.attrs.alternate_email);
    if (!cfg_.attrs.locale.empty()) v.push_back(cfg_.attrs.locale);
    if (ad_) v.push_back("userAccountControl");
    return v;
  }

  std::string first_value(LDAP* ld, LDAPMessage* e, const std::string& attr, bool binary_hex = false) const {
    if (attr.empty()) return {};
    struct berval** vals = ldap_get_values_len(ld, e, attr.c_str());
    std::string s;
    if (vals && vals[0]) {
      s = binary_hex ? hex(vals[0]->bv_val, vals[0]->bv_len)
                     : std::string(vals[0]->bv_val, vals[0]->bv_len);
    }
    if (vals) ldap_value_free_len(vals);
    return s;
  }

  Entry read_entry(LDAP* ld, LDAPMessage* e) const {
    Entry en;
    char* dn = ldap_get_dn(ld, e);
    if (dn) {
      en.dn = dn;
      ldap_memfree(dn);
    }
    en.id = ad_ ? first_value(ld, e, "objectGUID", true) : first_value(ld, e, "entryUUID");
    en.username = first_value(ld, e, cfg_.attrs.username);
    en.display_name = first_value(ld, e, cfg_.attrs.display_name);
    en.email = first_value(ld, e, cfg_.attrs.email);
    en.alternate_email = first_value(ld, e, cfg_.attrs.alternate_email);
    en.locale = first_value(ld, e, cfg_.attrs.locale);
    if (ad_) {
      const std::string uac = first_value(ld, e, "userAccountControl");
      en.disabled = !uac.empty() && (std::strtoll(uac.c_str(), nullptr, 10) & 2) != 0;
    }
    return en;
  }

  static std::string diagnostic(LDAP* ld) {
    char* msg = nullptr;
    ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &msg);
    std::string s = msg ? msg : "";
    if (msg) ldap_memfree(msg);
    return s;
  }

  // Opens the TLS connection (no bind yet).
  Answer open(Conn& c) const {
    if (ldap_initialize(&c.ld, cfg_.url.c_str()) != LDAP_SUCCESS || !c.ld)
      return {Outcome::Unavailable, LDAP_PARAM_ERROR, "cannot use directory.url " + cfg_.url};
    int v3 = LDAP_VERSION3, demand = LDAP_OPT_X_TLS_DEMAND, zero = 0;
    struct timeval net = tv_;
    ldap_set_option(c.ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
    ldap_set_option(c.ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
    ldap_set_option(c.ld, LDAP_OPT_NETWORK_TIMEOUT, &net);
    ldap_set_option(c.ld, LDAP_OPT_TIMEOUT, &net);
    if (!cfg_.ca_file.empty()) ldap_set_option(c.ld, LDAP_OPT_X_TLS_CACERTFILE, cfg_.ca_file.c_str());
    ldap_set_option(c.ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand);
    ldap_set_option(c.ld, LDAP_OPT_X_TLS_NEWCTX, &zero);  // must come last
    if (cfg_.url.rfind("ldap://", 0) == 0) {
      // Mandatory: never a password on a plain connection.
      int rc = ldap_start_tls_s(c.ld, nullptr, nullptr);
      if (rc != LDAP_SUCCESS) {
        std::string diag = diagnostic(c.ld);
        return {Outcome::Unavailable, rc,
                "StartTLS failed: " + rc_text(rc) + (diag.empty() ? "" : ": " + diag) +
                    (rc == LDAP_CONNECT_ERROR ? " (the server's certificate is not trusted by "
                                                "directory.ca_file, or its name does not match)"
                                              : "")};
      }
    } else if (cfg_.url.rfind("ldaps://", 0) != 0) {
      return {Outcome::Unavailable, LDAP_PARAM_ERROR, "directory.url must be ldaps:// or ldap://"};
    }
    return {Outcome::Ok, 0, ""};
  }

  Parsed bind(Conn& c, const std::string& dn, const std::string& pw) const {
    Parsed p;
    struct berval cred{static_cast<ber_len_t>(pw.size()), const_cast<char*>(pw.data())};
    LDAPControl* ppreq = nullptr;
    LDAPControl* sctrls[] = {nullptr, nullptr};
    if (!ad_ && ldap_create_passwordpolicy_control(c.ld, &ppreq) == LDAP_SUCCESS) sctrls[0] = ppreq;
    int msgid = 0;
    int rc = ldap_sasl_bind(c.ld, dn.c_str(), LDAP_SASL_SIMPLE, &cred, sctrls, nullptr, &msgid);
    if (ppreq) ldap_control_free(ppreq);
    LDAPMessage* res = nullptr;
    if (rc == LDAP_SUCCESS) {
      struct timeval tv = tv_;
      int r = ldap_result(c.ld, msgid, LDAP_MSG_ALL, &tv, &res);
      if (r == 0) rc = LDAP_TIMEOUT;
      else if (r < 0) ldap_get_option(c.ld, LDAP_OPT_RESULT_CODE, &rc);
    }
    if (rc != LDAP_SUCCESS || !res) {
      p.rc = rc == LDAP_SUCCESS ? LDAP_SERVER_DOWN : rc;
      p.diag = diagnostic(c.ld);
      if (res) ldap_msgfree(res);
      return p;
    }
    int err = 0;
    char* text = nullptr;
    LDAPControl** ctrls = nullptr;
    if (ldap_parse_result(c.ld, res, &err, nullptr, &text, nullptr, &ctrls, 1) != LDAP_SUCCESS)
      err = LDAP_DECODING_ERROR;
    p.rc = err;
    p.diag = text ? text : "";
    if (text) ldap_memfree(text);
    if (LDAPControl* pp = ldap_control_find(LDAP_CONTROL_PASSWORDPOLICYRESPONSE, ctrls, nullptr)) {
      ber_int_t expire = -1, grace = -1;
      LDAPPasswordPolicyError pe = PP_noError;
      if (ldap_parse_passwordpolicy_control(c.ld, pp, &expire, &grace, &pe) == LDAP_SUCCESS &&
          pe != PP_noError)
        p.pp_error = pe;
    }
    ldap_controls_free(ctrls);
    return p;
  }

  Answer bind_answer(const Parsed& p, bool service) const {
    std::string text = rc_text(p.rc) + (p.diag.empty() ? "" : ": " + p.diag);
    if (p.pp_error >= 0)
      text += "; " + std::string(ldap_passwordpolicy_err2txt(static_cast<LDAPPasswordPolicyError>(p.pp_error)));
    if (transport_rc(p.rc)) return {Outcome::Unavailable, p.rc, text};
    if (service) {
      if (p.rc == LDAP_SUCCESS && p.pp_error < 0) return {Outcome::Ok, 0, text};
      return {Outcome::Unavailable, p.rc, "the directory refused the service account " +
                                              cfg_.bind_dn + ": " + text};
    }
    if (p.rc == LDAP_SUCCESS)
      return {p.pp_error == PP_changeAfterReset || p.pp_error == PP_passwordExpired
                  ? Outcome::MustChange
                  : Outcome::Ok,
              0, text};
    if (p.rc == LDAP_INVALID_CREDENTIALS) {
      // AD: "AcceptSecurityContext error, data 773" and friends.
      if (contains(p.diag, "data 773") || contains(p.diag, "data 532"))
        return {Outcome::MustChange, p.rc, text};
      if (contains(p.diag, "data 775") || p.pp_error == PP_accountLocked)
        return {Outcome::Locked, p.rc, text};
      return {Outcome::InvalidCredentials, p.rc, text};
    }
    return {Outcome::Refused, p.rc, text};
  }

  Answer connect_service(Conn& c) const {
    if (Answer a = open(c); !a.ok()) return a;
    return bind_answer(bind(c, cfg_.bind_dn, cfg_.bind_password), true);
  }

  static Answer op_answer(int rc, std::string text) {
    if (rc == LDAP_SUCCESS) return {Outcome::Ok, 0, text};
    if (transport_rc(rc)) return {Outcome::Unavailable, rc, text};
    if (rc == LDAP_NO_SUCH_OBJECT) return {Outcome::NotFound, rc, text};
    if (contains(text, "00000056") || contains(text, "unwilling to verify old password"))
      return {Outcome::WrongPassword, rc, text};
    if (rc == LDAP_CONSTRAINT_VIOLATION || contains(text, "0000052D"))
      return {Outcome::Policy, rc, text};
    return {Outcome::Refused, rc, text};
  }

  Answer modify(Conn& c, const std::string& dn, LDAPMod** mods, bool ignore_absent = false) const {
    int rc = ldap_modify_ext_s(c.ld, dn.c_str(), mods, nullptr, nullptr);
    if (rc == LDAP_SUCCESS || (ignore_absent && rc == LDAP_NO_SUCH_ATTRIBUTE))
      return {Outcome::Ok, 0, ""};
    std::string diag = diagnostic(c.ld);
    return op_answer(rc, rc_text(rc) + (diag.empty() ? "" : ": " + diag));
  }

  Answer passwd_exop(Conn& c, const std::string& dn, const std::string* old_pw,
                     const std::string& new_pw) const {
    struct berval user{static_cast<ber_len_t>(dn.size()), const_cast<char*>(dn.data())};
    struct berval np{static_cast<ber_len_t>(new_pw.size()), const_cast<char*>(new_pw.data())};
    struct berval op{0, nullptr};
    if (old_pw) op = {static_cast<ber_len_t>(old_pw->size()), const_cast<char*>(old_pw->data())};
    LDAPControl* ppreq = nullptr;
    LDAPControl* sctrls[] = {nullptr, nullptr};
    if (ldap_create_passwordpolicy_control(c.ld, &ppreq) == LDAP_SUCCESS) sctrls[0] = ppreq;
    int msgid = 0;
    int rc = ldap_passwd(c.ld, &user, old_pw ? &op : nullptr, &np, sctrls, nullptr, &msgid);
    if (ppreq) ldap_control_free(ppreq);
    LDAPMessage* res = nullptr;
    if (rc == LDAP_SUCCESS) {
      struct timeval tv = tv_;
      int r = ldap_result(c.ld, msgid, LDAP_MSG_ALL, &tv, &res);
      if (r == 0) rc = LDAP_TIMEOUT;
      else if (r < 0) ldap_get_option(c.ld, LDAP_OPT_RESULT_CODE, &rc);
    }
    if (rc != LDAP_SUCCESS || !res) {
      if (res) ldap_msgfree(res);
      if (rc == LDAP_SUCCESS) rc = LDAP_SERVER_DOWN;
      std::string diag = diagnostic(c.ld);
      return op_answer(rc, "password modify: " + rc_text(rc) + (diag.empty() ? "" : ": " + diag));
    }
    int err = 0;
    char* text = nullptr;
    LDAPControl** ctrls = nullptr;
    if (ldap_parse_result(c.ld, res, &err, nullptr, &text, nullptr, &ctrls, 1) != LDAP_SUCCESS)
      err = LDAP_DECODING_ERROR;
    std::string t = rc_text(err) + (text && *text ? std::string(": ") + text : "");
    if (text) ldap_memfree(text);
    if (LDAPControl* pp = ldap_control_find(LDAP_CONTROL_PASSWORDPOLICYRESPONSE, ctrls, nullptr)) {
      ber_int_t expire = -1, grace = -1;
      LDAPPasswordPolicyError pe = PP_noError;
      if (ldap_parse_passwordpolicy_control(c.ld, pp, &expire, &grace, &pe) == LDAP_SUCCESS &&
          pe != PP_noError)
        t += "; ppolicy: " + std::string(ldap_passwordpolicy_err2txt(pe));
    }
    ldap_controls_free(ctrls);
    return op_answer(err, t);
  }

  Config cfg_;
  bool ad_;
  struct timeval tv_{};
};

}  // namespace

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

std::unique_ptr<Directory> make_ldap(const Config& c) { return std::make_unique<LdapDirectory>(c); }

}  // namespace resetd::directory
