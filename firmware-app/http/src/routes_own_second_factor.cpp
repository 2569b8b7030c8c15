// /session/second-factor/remove and /recovery-codes: managing one's own
// factor, each proven by the current password and a current code.
#include "api.h"

namespace resetd::http {
namespace {
struct Proof {
  std::optional<std::string> password;
  std::string code;
  std::string recovery_code;
};
Proof proof_of(const Ctx& c) {
  Proof p{opt_string(c.body, "current_password"), opt_string(c.body, "code").value_or(""),
          opt_string(c.body, "recovery_code").value_or("")};
  if (p.code.empty() == p.recovery_code.empty())
    fail(400, "second_factor_code_required", "Send either code or recovery_code.",
         p.code.empty() ? "code" : "recovery_code");
  if ((p.password && p.password->size() > 4096) || p.code.size() > 64 || p.recovery_code.size() > 64)
    fail(422, "wrong_second_factor", "The code is incorrect or was already used.",
         p.code.empty() ? "recovery_code" : "code");
  return p;
}
}  // namespace

void add_own_second_factor_routes(std::vector<Route>& r, Services& s) {
  r.push_back({"POST", PathPattern("/session/second-factor/remove"), Auth::Session, [&s](Ctx& c) {
                 const Proof p = proof_of(c);
                 take(s.accounts.remove_own_second_factor(*c.actor, p.password, p.code, p.recovery_code));
                 send_json(c.res, 200, {{"totp", false}, {"recovery_codes_left", 0}});
               }});
  r.push_back({"POST", PathPattern("/session/second-factor/recovery-codes"), Auth::Session, [&s](Ctx& c) {
                 const Proof p = proof_of(c);
                 auto codes =
                     take(s.accounts.regenerate_recovery_codes(*c.actor, p.password, p.code, p.recovery_code));
                 c.res.set_header("Cache-Control", "no-store");
                 send_json(c.res, 200, {{"recovery_codes", codes}});
               }});
}

}  // namespace resetd::http
