// Roles from nested groups (see ldap_search.h). A user in group B, where B is
// a member of a mapped group A, gets A's role. AD answers the transitive
// question itself (LDAP_MATCHING_RULE_IN_CHAIN, 1.2.840.113556.1.4.1941);
// OpenLDAP has no such rule (and memberOf is an optional overlay), so resetd
// follows `member` values itself: at most kMaxNesting levels, each group once
// (a cycle A -> B -> A ends), and any error leaves the caller's roles unchanged.
#include <set>

#include "ldap_search.h"
#include "ldap_values.h"

namespace resetd::directory {

namespace {
constexpr const char* kInChain = "1.2.840.113556.1.4.1941";
constexpr size_t kOrChunk = 64;          // DNs in one (|(member=..)..) filter
constexpr int64_t kMaxGroupEntries = 200000;  // bound on one read of all groups
}  // namespace

Answer nested_member_of(Session& c, const Config& cfg, const struct timeval& tv, const std::string& dn,
                        std::vector<std::string>* groups) {
  groups->clear();
  const bool ad = cfg.kind == "ad";
  char* attrs[] = {const_cast<char*>("1.1"), nullptr};
  // Upwards from dn on OpenLDAP needs the naming contexts; without them
  // (rootDSE not readable) only direct membership is asked, as before.
  const std::vector<std::string> bases = ad ? std::vector<std::string>{} : naming_contexts(c, tv, false);
  if (ad || bases.empty()) {
    const std::string filter = ad ? std::string("(member:") + kInChain + ":=" + escape_filter(dn) + ")"
                                  : "(member=" + escape_filter(dn) + ")";
    for (const auto& [group, role] : cfg.roles) {
      (void)role;
      struct timeval t = tv;
      LDAPMessage* res = nullptr;
      int rc = ldap_search_ext_s(c.ld, group.c_str(), LDAP_SCOPE_BASE, filter.c_str(), attrs, 0, nullptr,
                                 nullptr, &t, 1, &res);
      if (rc == LDAP_SUCCESS && ldap_count_entries(c.ld, res) > 0) groups->push_back(group);
      if (res) ldap_msgfree(res);
      if (transport_rc(rc)) return op_answer(rc, "group search: " + rc_text(rc));
    }
    return {Outcome::Ok, 0, ""};
  }
  // Upwards: the groups holding dn, then the groups holding those, ...
  std::set<std::string> holders;  // dn_key()s of every group reached
  std::vector<std::string> frontier{dn};
  std::set<std::string> seen{dn_key(dn)};
  for (int depth = 0; depth < kMaxNesting && !frontier.empty(); ++depth) {
    std::vector<std::string> next;
    for (size_t i = 0; i < frontier.size(); i += kOrChunk) {
      std::string filter = "(|";
      for (size_t k = i; k < frontier.size() && k < i + kOrChunk; ++k)
        filter += "(member=" + escape_filter(frontier[k]) + ")";
      filter += ")";
      for (const auto& base : bases) {
        Answer a = paged_search(c, cfg, tv, base, LDAP_SCOPE_SUBTREE, filter, {"1.1"}, kMaxGroupEntries,
                                [&](LDAP* ld, LDAPMessage* e) {
                                  char* g = ldap_get_dn(ld, e);
                                  if (!g) return;
                                  const std::string key = dn_key(g);
                                  holders.insert(key);
                                  if (seen.insert(key).second) next.emplace_back(g);
                                  ldap_memfree(g);
                                });
        if (!a.ok()) return a;
      }
    }
    frontier = std::move(next);
  }
  for (const auto& [group, role] : cfg.roles) {
    (void)role;
    if (holders.count(dn_key(group))) groups->push_back(group);
  }
  return {Outcome::Ok, 0, ""};
}

Answer ad_group_members(Session& c, const Config& cfg, const struct timeval& tv,
                        std::map<std::string, std::vector<std::string>>* members) {
  members->clear();
  for (const auto& [group, role] : cfg.roles) {
    (void)role;
    std::vector<std::string>& out = (*members)[group];
    // The users (under users_base, the only ones a sync knows) in the group
    // through any nesting; no range retrieval, however large the group.
    const std::string filter = std::string("(memberOf:") + kInChain + ":=" + escape_filter(group) + ")";
    Answer a = paged_search(c, cfg, tv, cfg.users_base, LDAP_SCOPE_SUBTREE, filter, {"1.1"}, cfg.max_users,
                            [&](LDAP* ld, LDAPMessage* e) {
                              char* d = ldap_get_dn(ld, e);
                              if (!d) return;
                              out.push_back(dn_key(d));
                              ldap_memfree(d);
                            });
    if (!a.ok()) {
      a.text = "group " + group + ": " + a.text;
      return a;
    }
  }
  return {Outcome::Ok, 0, ""};
}

Answer expand_nested(Session& c, const Config& cfg, const struct timeval& tv,
                     std::map<std::string, std::vector<std::string>>* members) {
  // Every group entry (anything with `member`) under the naming contexts, once.
  const std::vector<std::string> bases = naming_contexts(c, tv, false);
  std::map<std::string, std::vector<std::string>> all;  // dn_key -> member dn_key()s
  for (const auto& base : bases) {
    Answer a = paged_search(c, cfg, tv, base, LDAP_SCOPE_SUBTREE, "(member=*)", {"member"}, kMaxGroupEntries,
                            [&](LDAP* ld, LDAPMessage* e) {
                              char* d = ldap_get_dn(ld, e);
                              if (!d) return;
                              std::vector<std::string>& v = all[dn_key(d)];
                              ldap_memfree(d);
                              struct berval** vals = ldap_get_values_len(ld, e, "member");
                              for (size_t i = 0; vals && vals[i]; ++i)
                                v.push_back(dn_key(std::string(vals[i]->bv_val, vals[i]->bv_len)));
                              if (vals) ldap_value_free_len(vals);
                            });
    if (!a.ok()) {
      a.text = "nested groups: " + a.text;
      return a;
    }
  }
  for (auto& [group, direct] : *members) {
    std::set<std::string> visited{dn_key(group)};
    std::set<std::string> have(direct.begin(), direct.end());
    std::vector<std::string> frontier;
    for (const auto& m : direct)
      if (all.count(m) && visited.insert(m).second) frontier.push_back(m);
    for (int depth = 1; depth < kMaxNesting && !frontier.empty(); ++depth) {
      std::vector<std::string> next;
      for (const auto& g : frontier)
        for (const auto& m : all[g]) {
          if (have.insert(m).second) direct.push_back(m);
          if (all.count(m) && visited.insert(m).second) next.push_back(m);
        }
      frontier = std::move(next);
    }
  }
  return {Outcome::Ok, 0, ""};
}

}  // namespace resetd::directory
