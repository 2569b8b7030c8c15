// /users/{id}/caller-verification: the helpdesk checks who is on the phone
// before a reset (issue 23). No answer here ever carries the code.
#include "api.h"

namespace resetd::http {
namespace {
json challenge_json(const accounts::CallerChallenge& ch) {
  return {{"id", ch.id},
          {"method", ch.method},
          {"destination", ch.destination.empty() ? json(nullptr) : json(ch.destination)},
          {"expires_at", rfc3339(ch.expires_at)},
          {"tries_left", ch.tries_left},
          {"verified", ch.verified}};
}
}  // namespace

void add_caller_routes(std::vector<Route>& r, Services& s) {
  // What the panel shows: whether the caller's role must, may or cannot verify.
  r.push_back({"GET", PathPattern("/caller-verification"), Auth::Session, [&s](Ctx& c) {
                 if (!accounts::is_admin(c.actor->role)) fail(403, "forbidden", "You are not allowed to do this.");
                 send_json(c.res, 200,
                           {{"policy", accounts::caller_policy_name(s.accounts.caller_policy(c.actor->role))},
                            {"ttl_s", accounts::AccountService::kCallerTtlS},
                            {"tries", accounts::AccountService::kCallerTries}});
               }});
  // The settings page's read-only view of the per-role policies the config
  // file sets ([caller_verification], [second_factor]; read at start).
  r.push_back({"GET", PathPattern("/settings/role-policies"), Auth::Session, [&s](Ctx& c) {
                 if (!accounts::may_administer_site(c.actor->role))
                   fail(403, "forbidden", "Only a global admin may do this.");
                 using accounts::Role;
                 json caller = json::object();
                 for (Role role : {Role::HelpdeskAdmin, Role::PasswordAdmin, Role::UserAdmin, Role::GlobalAdmin})
                   caller[accounts::role_name(role)] = accounts::caller_policy_name(s.accounts.caller_policy(role));
                 json factor = json::object();
                 const auto& sf = s.accounts.settings().second_factor;
                 for (Role role : {Role::User, Role::HelpdeskAdmin, Role::PasswordAdmin, Role::UserAdmin, Role::GlobalAdmin})
                   factor[accounts::role_name(role)] = accounts::factor_rule_name(sf.rule(role));
                 send_json(c.res, 200, {{"caller_verification", caller}, {"second_factor", factor}});
               }});
  r.push_back({"POST", PathPattern("/users/(\\d+)/caller-verification"), Auth::Session, [&s](Ctx& c) {
                 auto ch = take(s.accounts.start_caller_verification(*c.actor, path_id(c)));
                 c.res.set_header("Cache-Control", "no-store");
                 send_json(c.res, 201, challenge_json(ch));
               }});
  // The verification's id in the body (paths capture digits only).
  r.push_back({"POST", PathPattern("/users/(\\d+)/caller-verification/check"), Auth::Session,
               [&s](Ctx& c) {
                 const std::string id = req_string(c.body, "id");
                 const std::string code = req_string(c.body, "code");
                 if (id.empty() || id.size() > 64) fail(404, "not_found", "No such caller verification; start a new one.", "id");
                 if (code.size() > 64) fail(422, "invalid_code_format", "Enter the 6 digits the caller reads out.", "code");
                 auto ch = take(s.accounts.check_caller_verification(*c.actor, path_id(c), id, code));
                 c.res.set_header("Cache-Control", "no-store");
                 send_json(c.res, 200, challenge_json(ch));
               }});
}

}  // namespace resetd::http
