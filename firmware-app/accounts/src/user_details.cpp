// AccountService: a user's details beyond the record (last sign-in, who last
// set the password, open sessions) and ending all of a user's sessions.
#include "resetd/accounts/service.h"

namespace resetd::accounts {

using storage::AuditQuery;
using storage::AuditRecord;

namespace {
Error forbidden() { return make_error("forbidden", "You are not allowed to do this."); }
Error not_found() { return make_error("not_found", "No such user."); }

// The audit actions that give the target a new password (the newest wins).
// user_create only counts when none is kept: a new user made through the API
// also gets user_create_password; one made at the console only user_create.
constexpr const char* kPasswordSetters[] = {"user_create_password", "password_reset", "password_change",
                                            "self_service_reset", "set_password_link",
                                            "password_reset_recovered"};
}  // namespace

Result<UserDetails> AccountService::user_details(const Actor& a, int64_t id) {
  auto u = get_user(a, id);  // the same access rule, and the directory's lock read live
  if (!u) return u.error();
  UserDetails d;
  d.user = std::move(*u);
  const int64_t now = clock_.now();
  store_.read([&](storage::Reader& r) {
    AuditQuery q;
    q.target = d.user.username;
    q.limit = 1;
    q.action = "sign_in";
    q.outcome = "ok";
    if (auto l = r.audit_list(q); !l.empty()) d.last_sign_in_at = l.front().at;
    // The newest entry that did set a password: a refused or failed reset
    // after it (outcome denied, failed, ...) changes nothing.
    for (const char* action : kPasswordSetters) {
      q.action = action;
      auto l = r.audit_list(q);
      if (l.empty()) continue;
      if (!d.password_set || l.front().id > d.password_set->id) d.password_set = l.front();
    }
    if (!d.password_set) {
      q.action = "user_create";
      if (auto l = r.audit_list(q); !l.empty()) d.password_set = l.front();
    }
    for (const auto& s : r.sessions_for_user(id))
      if (s.expires_at > now) ++d.active_sessions;
  });
  // Only who, what and when: the detail may name addresses the reader
  // would not otherwise see.
  if (d.password_set) d.password_set->detail.clear();
  return d;
}

Result<int64_t> AccountService::end_user_sessions(const Actor& a, int64_t id) {
  if (!is_admin(a.role) && a.user_id != id) return forbidden();
  std::optional<Error> err;
  int64_t n = 0;
  std::vector<int64_t> ended;
  store_.write([&](storage::Writer& w) {
    auto u = w.user_by_id(id);
    if (!u) {
      err = not_found();
      return;
    }
    const bool self = a.user_id == id;
    if (!self && !may_reset(a.role, parse_role(u->role).value_or(Role::GlobalAdmin))) {
      err = forbidden();
      return;
    }
    for (const auto& s : w.sessions_for_user(id))
      if (!self || s.id != a.session_id) ended.push_back(s.id);
    n = w.delete_sessions_for_user(id, self ? a.session_id : 0);
    // session_end, as a user ending their own: the audit's Action filter
    // finds both; the detail says it was all of them.
    audit(w, a.username, a.client, "session_end", u->username, "ok",
          self ? std::to_string(n) + " other session(s)" : "all " + std::to_string(n) + " session(s)");
  });
  if (err) return *err;
  std::lock_guard<std::mutex> lock(idle_mu_);
  for (int64_t sid : ended) last_activity_ms_.erase(sid);
  return n;
}

}  // namespace resetd::accounts
