// /session/second-factor: the second step of a sign-in, and enrolling an
// authenticator app (TOTP) with its recovery codes.
#include "api.h"
#include "resetd/qr/qr.h"

namespace resetd::http {

void add_second_factor_routes(std::vector<Route>& r, Services& s) {
  // The second step: the pending token from POST /session and a code. Not
  // signed in yet, so no session and no CSRF token: the unauthenticated
  // POST rules (JSON only, same origin) apply, and the token itself is in the body.
  r.push_back({"POST", PathPattern("/session/second-factor"), Auth::None, [&s](Ctx& c) {
                 const std::string pending = req_string(c.body, "pending_token");
                 if (c.body.contains("security_key")) {
                   const auto rd = opt_string(c.body, "rd");
                   auto in = take(s.accounts.sign_in_security_key(pending, key_assertion(c.body), c.client,
                                                                  page_origin(c, s)));
                   send_signed_in(s, c, in, rd);
                   return;
                 }
                 const std::string code = opt_string(c.body, "code").value_or("");
                 const std::string recovery = opt_string(c.body, "recovery_code").value_or("");
                 if (code.empty() == recovery.empty())
                   fail(400, "bad_request", "Send either code or recovery_code.", code.empty() ? "code" : "recovery_code");
                 if (pending.size() > 128 || code.size() > 64 || recovery.size() > 64)
                   fail(401, "invalid_second_factor", "The code is incorrect or was already used.");
                 const auto rd = opt_string(c.body, "rd");
                 auto in = take(s.accounts.sign_in_second_factor(pending, code, recovery, c.client));
                 send_signed_in(s, c, in, rd);
               }});
  // Enrolment routes stay open to a session the policy confines to enrolment.
  r.push_back({"GET", PathPattern("/session/second-factor"), Auth::Enrolment, [&s](Ctx& c) {
                 auto st = take(s.accounts.second_factor_state(*c.actor));
                 send_json(c.res, 200,
                           {{"totp", st.totp}, {"enrolling", st.enrolling},
                            {"recovery_codes_left", st.recovery_codes_left},
                            {"security_keys", security_keys_json(st.security_keys)},
                            {"security_key_rp_id", rp_id_json(page_origin(c, s))},
                            {"policy", accounts::factor_rule_name(st.policy)}});
               }});
  r.push_back({"POST", PathPattern("/session/second-factor/totp"), Auth::Enrolment, [&s](Ctx& c) {
                 // With a current code of the app set up (or a recovery code): a replacement.
                 const std::string code = opt_string(c.body, "code").value_or("");
                 const std::string recovery = opt_string(c.body, "recovery_code").value_or("");
                 if (code.size() > 64 || recovery.size() > 64)
                   fail(422, "wrong_second_factor", "The code is incorrect or was already used.",
                        code.size() > 64 ? "code" : "recovery_code");
                 auto e = take(s.accounts.begin_totp(*c.actor, opt_string(c.body, "current_password"), code, recovery));
                 auto m = qr::encode(e.uri);
                 if (!m) fail(500, "internal_error", "The enrolment code does not fit a QR code.");
                 // The page draws the QR code from these rows ("1" = dark module).
                 json rows = json::array();
                 for (const auto& row : *m) {
                   std::string line;
                   for (bool dark : row) line.push_back(dark ? '1' : '0');
                   rows.push_back(line);
                 }
                 c.res.set_header("Cache-Control", "no-store");
                 send_json(c.res, 200, {{"secret", e.secret}, {"uri", e.uri}, {"qr", rows}});
               }});
  r.push_back({"POST", PathPattern("/session/second-factor/totp/confirm"), Auth::Enrolment, [&s](Ctx& c) {
                 const std::string code = req_string(c.body, "code");
                 if (code.size() > 64) fail(422, "wrong_totp_code", "Enter the 6-digit code the app shows.", "code");
                 auto codes = take(s.accounts.confirm_totp(*c.actor, code));
                 c.res.set_header("Cache-Control", "no-store");
                 send_json(c.res, 200, {{"recovery_codes", codes}});
               }});
  add_own_second_factor_routes(r, s);
  add_security_key_routes(r, s);
}

}  // namespace resetd::http
