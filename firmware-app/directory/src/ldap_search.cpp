// See ldap_search.h: a paged search, one entry's values, the naming contexts.
#include "ldap_search.h"

namespace resetd::directory {

Answer paged_search(Session& c, const Config& cfg, const struct timeval& tv, const std::string& base,
                    int scope, const std::string& filter, const std::vector<std::string>& attrs,
                    int64_t limit, const std::function<void(LDAP*, LDAPMessage*)>& each) {
  return paged_search_counted(c, cfg, tv, base, scope, filter, attrs, limit,
                              [&](LDAP* ld, LDAPMessage* e) {
                                each(ld, e);
                                return true;
                              },
                              "");
}

Answer paged_search_counted(Session& c, const Config& cfg, const struct timeval& tv,
                            const std::string& base, int scope, const std::string& filter,
                            const std::vector<std::string>& attrs_in, int64_t limit,
                            const std::function<bool(LDAP*, LDAPMessage*)>& each,
                            const std::string& over_limit) {
  std::vector<std::string> attrs_v = attrs_in;
  std::vector<char*> attrs;
  for (auto& s : attrs_v) attrs.push_back(s.data());
  attrs.push_back(nullptr);
  struct timeval t = tv;
  struct berval* cookie = nullptr;
  int64_t seen = 0;
  Answer result{Outcome::Ok, 0, ""};
  for (;;) {
    LDAPControl* page = nullptr;
    if (ldap_create_page_control(c.ld, static_cast<ber_int_t>(cfg.page_size), cookie, 1, &page) !=
        LDAP_SUCCESS) {
      result = {Outcome::Refused, LDAP_LOCAL_ERROR, "cannot build the paged-results control"};
      break;
    }
    LDAPControl* sctrls[] = {page, nullptr};
    LDAPMessage* res = nullptr;
    int rc = ldap_search_ext_s(c.ld, base.c_str(), scope, filter.c_str(), attrs.data(), 0, sctrls,
                               nullptr, &t, 0, &res);
    ldap_control_free(page);
    if (rc != LDAP_SUCCESS) {
      std::string diag = diagnostic(c.ld);
      if (res) ldap_msgfree(res);
      result = op_answer(rc, "search " + base + ": " + rc_text(rc) + (diag.empty() ? "" : ": " + diag));
      break;
    }
    for (LDAPMessage* e = ldap_first_entry(c.ld, res); e; e = ldap_next_entry(c.ld, e))
      if (each(c.ld, e) && ++seen > limit) break;
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
    if (seen > limit) {
      result = {Outcome::Refused, 0,
                over_limit.empty() ? "search " + base + ": more than " + std::to_string(limit) + " entries"
                                   : over_limit};
      break;
    }
    if (err != LDAP_SUCCESS) {
      result = op_answer(err, "search " + base + ": " + rc_text(err));
      break;
    }
    if (!cookie) break;
  }
  if (cookie) ber_bvfree(cookie);
  return result;
}

Answer read_values(Session& c, const struct timeval& tv, const std::string& dn, const char* attr,
                   std::vector<std::string>* out) {
  out->clear();
  char* attrs[] = {const_cast<char*>(attr), nullptr};
  struct timeval t = tv;
  LDAPMessage* res = nullptr;
  int rc = ldap_search_ext_s(c.ld, dn.c_str(), LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 0, nullptr,
                             nullptr, &t, 1, &res);
  if (rc == LDAP_SUCCESS)
    if (LDAPMessage* e = ldap_first_entry(c.ld, res)) {
      struct berval** vals = ldap_get_values_len(c.ld, e, attr);
      for (size_t i = 0; vals && vals[i]; ++i) out->emplace_back(vals[i]->bv_val, vals[i]->bv_len);
      if (vals) ldap_value_free_len(vals);
    }
  if (res) ldap_msgfree(res);
  return op_answer(rc, rc == LDAP_SUCCESS ? "" : "read " + std::string(attr) + " of " + dn + ": " + rc_text(rc));
}

std::vector<std::string> naming_contexts(Session& c, const struct timeval& tv, bool ad) {
  std::vector<std::string> v;
  read_values(c, tv, "", ad ? "defaultNamingContext" : "namingContexts", &v);
  return v;
}

}  // namespace resetd::directory
