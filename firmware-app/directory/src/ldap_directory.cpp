// OpenLDAP ("ldap") and Active Directory ("ad") through libldap 2.5: the
// Directory calls, each on its own Session (ldap_session.h: the connection,
// binds and password writes); value encodings in ldap_values.h. The
// directory module's ldap_*.cpp are the only files that include <ldap.h>.
#include <strings.h>
#include <sys/time.h>

#include <cstdio>
#include <cstring>
#include <cstdlib>

#include <ctime>

#include "ldap_search.h"
#include "ldap_session.h"
#include "ldap_values.h"
#include "resetd/directory/directory.h"

namespace resetd::directory {
namespace {

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
    Session c(cfg_, tv_);
    if (Answer a = c.connect_service(); !a.ok()) return a;
    // Read the users' base: proves the service account can see it.
    LDAPMessage* res = nullptr;
    char* attrs[] = {const_cast<char*>("1.1"), nullptr};
    int rc = ldap_search_ext_s(c.ld, cfg_.users_base.c_str(), LDAP_SCOPE_BASE, "(objectClass=*)",
                               attrs, 0, nullptr, nullptr, &tv_, 1, &res);
    std::string diag = diagnostic(c.ld);
    if (res) ldap_msgfree(res);
    if (rc != LDAP_SUCCESS) {
      Answer a = op_answer(rc, "users_base " + cfg_.users_base + ": " + rc_text(rc) +
                                   (diag.empty() ? "" : ": " + diag));
      a.failure = rc == LDAP_TIMEOUT ? Failure::Timeout
                  : transport_rc(rc) ? Failure::Other
                                     : Failure::UsersBaseUnreadable;
      return a;
    }
    Answer ok{Outcome::Ok, 0, "Bound as " + cfg_.bind_dn + " over TLS at " + c.server() + "; users_base readable"};
    if (!ad_) ok.warning = must_change_gap(c, tv_, "");
    return ok;
  }

  Answer list_users(const std::function<void(const Entry&)>& each) override {
    Session c(cfg_, tv_);
    if (Answer a = c.connect_service(); !a.ok()) return a;
    int64_t seen = 0;
    const LockPolicy lp = lock_policy(c, tv_, ad_);
    const int64_t now = static_cast<int64_t>(std::time(nullptr));
    Answer result = paged_search_counted(
        c, cfg_, tv_, cfg_.users_base, LDAP_SCOPE_SUBTREE, cfg_.user_filter, attr_list(), cfg_.max_users,
        [&](LDAP* ld, LDAPMessage* e) {
          Entry en = read_entry(ld, e);
          en.locked = entry_locked(ld, e, ad_, lp, now);
          if (en.id.empty() || en.username.empty()) return false;
          ++seen;
          each(en);
          return true;
        },
        "more than directory.max_users = " + std::to_string(cfg_.max_users) +
            " entries match; narrow users_base or user_filter");
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
    Session c(cfg_, tv_);
    if (Answer a = c.connect_service(); !a.ok()) return a;
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
        out->locked = entry_locked(c.ld, e, ad_, lock_policy(c, tv_, ad_), static_cast<int64_t>(std::time(nullptr)));
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
    Session c(cfg_, tv_);
    if (Answer a = c.connect_service(); !a.ok()) return a;
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
      return c.modify(dn, mods);
    }
    Answer a = c.passwd_exop(dn, nullptr, password);
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
    Answer b = c.modify(dn, mods, /*ignore_absent=*/true);
    if (!b.ok()) {
      b.text = "the password was set, but pwdReset could not be changed: " + b.text;
      b.outcome = Outcome::Ok;  // the password itself is in the directory
    }
    if (require_change) b.warning = must_change_gap(c, tv_, dn);
    return b;
  }

  Answer change_password(const std::string& dn, const std::string& old_password,
                         const std::string& new_password) override {
    Session c(cfg_, tv_);
    if (ad_) {
      // A must-change AD user cannot bind (data 773): the service account
      // sends the user's change (delete old + add new) on their behalf.
      if (Answer a = c.connect_service(); !a.ok()) return a;
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
      return c.modify(dn, mods);
    }
    if (Answer a = c.open(); !a.ok()) return a;
    Parsed p = c.bind(dn, old_password);
    Answer b = c.bind_answer(p, false);
    if (b.outcome != Outcome::Ok && b.outcome != Outcome::MustChange) {
      if (b.outcome == Outcome::InvalidCredentials) b.outcome = Outcome::WrongPassword;
      return b;
    }
    return c.passwd_exop(dn, &old_password, new_password);
  }

  Answer unlock(const std::string& dn) override {
    Session c(cfg_, tv_);
    if (Answer a = c.connect_service(); !a.ok()) return a;
    if (ad_) {
      char zero[] = "0";
      char* vals[] = {zero, nullptr};
      LDAPMod m{};
      m.mod_op = LDAP_MOD_REPLACE;
      m.mod_type = const_cast<char*>("lockoutTime");
      m.mod_vals.modv_strvals = vals;
      LDAPMod* mods[] = {&m, nullptr};
      return c.modify(dn, mods);
    }
    // pwdFailureTime is NO-USER-MODIFICATION; the next good bind clears it.
    LDAPMod m{};
    m.mod_op = LDAP_MOD_DELETE;
    m.mod_type = const_cast<char*>("pwdAccountLockedTime");
    LDAPMod* mods[] = {&m, nullptr};
    return c.modify(dn, mods, true);
  }

  Answer change_pending(const std::string& dn, bool* pending) override {
    *pending = false;
    Session c(cfg_, tv_);
    if (Answer a = c.connect_service(); !a.ok()) return a;
    return directory::change_pending(c, tv_, ad_, dn, pending);
  }

  Answer bind_check(const std::string& dn, const std::string& password) override {
    if (password.empty()) return {Outcome::InvalidCredentials, LDAP_INVALID_CREDENTIALS, "empty password"};
    Session c(cfg_, tv_);
    if (Answer a = c.open(); !a.ok()) return a;
    return c.bind_answer(c.bind(dn, password), false);
  }

  Answer member_of(const std::string& dn, std::vector<std::string>* groups) override {
    groups->clear();
    if (cfg_.roles.empty()) return {Outcome::Ok, 0, ""};
    Session c(cfg_, tv_);
    if (Answer a = c.connect_service(); !a.ok()) return a;
    return nested_member_of(c, cfg_, tv_, dn, groups);
  }

  Answer group_members(std::map<std::string, std::vector<std::string>>* members) override {
    members->clear();
    if (cfg_.roles.empty()) return {Outcome::Ok, 0, ""};
    Session c(cfg_, tv_);
    if (Answer a = c.connect_service(); !a.ok()) return a;
    if (ad_) return ad_group_members(c, cfg_, tv_, members);
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
    return expand_nested(c, cfg_, tv_, members);
  }

 private:
  std::vector<std::string> attr_list() const {
    std::vector<std::string> v = {ad_ ? "objectGUID" : "entryUUID", cfg_.attrs.username,
                                  cfg_.attrs.display_name, cfg_.attrs.email};
    if (!cfg_.attrs.alternate_email.empty()) v.push_back(cfg_.attrs.alternate_email);
    if (!cfg_.attrs.locale.empty()) v.push_back(cfg_.attrs.locale);
    if (ad_) v.push_back("userAccountControl");
    for (auto& a : lock_attrs(ad_)) v.push_back(a);
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


  Config cfg_;
  bool ad_;
  struct timeval tv_{};
};

}  // namespace

std::unique_ptr<Directory> make_ldap(const Config& c) { return std::make_unique<LdapDirectory>(c); }

}  // namespace resetd::directory
