// Searches the directory's state and group code needs, on an open Session:
// a paged (RFC 2696) search and the rootDSE's naming contexts. Included only
// by the directory's libldap sources.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "ldap_session.h"

namespace resetd::directory {

// Calls `each` for every entry of a paged search; stops with Refused once more
// than `limit` entries came back (the caller drops what it was given then).
Answer paged_search(Session& c, const Config& cfg, const struct timeval& tv, const std::string& base,
                    int scope, const std::string& filter, const std::vector<std::string>& attrs,
                    int64_t limit, const std::function<void(LDAP*, LDAPMessage*)>& each);
// The same, where only the entries `each` answers true for count toward `limit`,
// and `over_limit` (when not empty) is the Refused answer's text.
Answer paged_search_counted(Session& c, const Config& cfg, const struct timeval& tv,
                            const std::string& base, int scope, const std::string& filter,
                            const std::vector<std::string>& attrs, int64_t limit,
                            const std::function<bool(LDAP*, LDAPMessage*)>& each,
                            const std::string& over_limit);
// One attribute's values of one entry (a base search); none when absent.
Answer read_values(Session& c, const struct timeval& tv, const std::string& dn, const char* attr,
                   std::vector<std::string>* out);
// The rootDSE's namingContexts (OpenLDAP) or defaultNamingContext (AD).
std::vector<std::string> naming_contexts(Session& c, const struct timeval& tv, bool ad);

// Internal: implementations of Directory calls kept out of ldap_directory.cpp.
Answer nested_member_of(Session& c, const Config& cfg, const struct timeval& tv, const std::string& dn,
                        std::vector<std::string>* groups);
// AD: each mapped group's members through any nesting (in-chain rule), as dn_key()s.
Answer ad_group_members(Session& c, const Config& cfg, const struct timeval& tv,
                        std::map<std::string, std::vector<std::string>>* members);
// OpenLDAP: `members` holds each mapped group's direct members (dn_key()s);
// adds the members of groups nested in it, up to kMaxNesting levels.
Answer expand_nested(Session& c, const Config& cfg, const struct timeval& tv,
                     std::map<std::string, std::vector<std::string>>* members);
constexpr int kMaxNesting = 8;
// The directory's lockout as seen in an entry read with lock_attrs().
std::vector<std::string> lock_attrs(bool ad);
struct LockPolicy {
  bool known = false;
  int64_t duration_s = -1;  // AD lockoutDuration; -1 = until an admin unlocks
};
LockPolicy lock_policy(Session& c, const struct timeval& tv, bool ad);
bool entry_locked(LDAP* ld, LDAPMessage* e, bool ad, const LockPolicy& p, int64_t now);
// OpenLDAP: text for an admin when the ppolicy that applies to `dn` (or, with
// no dn, every policy entry readable) lacks pwdMustChange: TRUE; "" otherwise.
std::string must_change_gap(Session& c, const struct timeval& tv, const std::string& dn);
// Whether a must-change reset's password is still unchanged at the directory.
Answer change_pending(Session& c, const struct timeval& tv, bool ad, const std::string& dn, bool* pending);

}  // namespace resetd::directory
