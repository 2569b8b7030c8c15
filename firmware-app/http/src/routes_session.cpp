// /session: sign in, who am I, sign out, change my password.
#include "api.h"

namespace resetd::http {

std::string session_cookie_name(const Services& s) {
  const auto& fa = s.forward_auth.settings();
  const bool siblings = fa.enabled && !fa.cookie_domain.empty();
  return siblings && s.tls ? std::string("__Host-") + kSessionCookie : std::string(kSessionCookie);
}

std::vector<std::string> session_cookies(const Services& s, const std::string& token, int64_t max_age) {
  const std::string attrs = "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" + std::to_string(max_age) +
                            (s.tls ? "; Secure" : "");
  // resetd's own session stays host-only: a Domain= cookie reaches every
  // sibling app (and its logs), which could replay it here.
  std::vector<std::string> out = {session_cookie_name(s) + "=" + token + attrs};
  // Sibling apps' forward-auth requests get a cookie of their own under the
  // parent domain, good for GET /auth/verify and nothing else.
  const auto& fa = s.forward_auth.settings();
  if (fa.enabled && !fa.cookie_domain.empty())
    out.push_back(std::string(kForwardCookie) + "=" +
                  (token.empty() ? std::string() : accounts::AccountService::forward_token_for(token)) + attrs +
                  "; Domain=" + fa.cookie_domain);
  return out;
}

void send_signed_in(Services& s, Ctx& c, const accounts::SignIn& in, const std::optional<std::string>& rd) {
  for (const auto& cookie : session_cookies(s, in.token, accounts::AccountService::kSessionAbsoluteS))
    c.res.set_header("Set-Cookie", cookie);
  json out = {{"user", user_json(in.user, s)},
              {"must_change_password", in.must_change},
              {"second_factor_enrolment_required", in.second_factor_missing},
              {"link_delivery", !s.accounts.settings().public_url.empty()},
              {"csrf_token", s.accounts.csrf_token_for(in.token)}};
  // Forward auth: where the browser goes next, only to a configured origin.
  if (rd && s.forward_auth.enabled()) {
    auto url = s.forward_auth.return_url(*rd);
    out["redirect"] = url ? json(*url) : json(nullptr);
  }
  send_json(c.res, 200, out);
}

void add_session_routes(std::vector<Route>& r, Services& s) {
  r.push_back({"POST", PathPattern("/session"), Auth::None, [&s](Ctx& c) {
                 const std::string username = req_string(c.body, "username");
                 const std::string password = req_string(c.body, "password");
                 if (username.size() > 256 || password.size() > 4096)
                   fail(401, "invalid_credentials", "The username or password is incorrect.");
                 const auto rd = opt_string(c.body, "rd");
                 auto in = take(s.accounts.sign_in(username, password, c.client,
                                                   c.req.get_header_value("User-Agent")));
                 if (!in.pending_token.empty()) {
                   // No session yet and no cookie: the token is good for
                   // POST /session/second-factor only.
                   send_json(c.res, 200,
                             {{"second_factor_required", true},
                              {"pending_token", in.pending_token},
                              {"expires_in", accounts::AccountService::kPendingS},
                              {"methods", in.methods}});
                   return;
                 }
                 send_signed_in(s, c, in, rd);
               }});
  r.push_back({"GET", PathPattern("/session"), Auth::AnySession, [&s](Ctx& c) {
                 auto u = take(s.accounts.get_user(*c.actor, c.actor->user_id));
                 send_json(c.res, 200,
                           {{"user", user_json(u, s)},
                            {"must_change_password", c.actor->must_change},
                            {"second_factor_enrolment_required", c.actor->second_factor_missing},
                            {"second_factor", c.actor->second_factor},
                            {"link_delivery", !s.accounts.settings().public_url.empty()},
                            {"csrf_token", s.accounts.csrf_token_for(c.token)}});
               }});
  r.push_back({"DELETE", PathPattern("/session"), Auth::AnySession, [&s](Ctx& c) {
                 take(s.accounts.sign_out(*c.actor));
                 for (const auto& cookie : session_cookies(s, "", 0)) c.res.set_header("Set-Cookie", cookie);
                 c.res.status = 204;
               }});
  r.push_back({"POST", PathPattern("/session/password"), Auth::AnySession, [&s](Ctx& c) {
                 const std::string cur = req_string(c.body, "current_password");
                 const std::string next = req_string(c.body, "new_password");
                 take(s.accounts.change_own_password(*c.actor, cur, next));
                 auto u = take(s.accounts.get_user(*c.actor, c.actor->user_id));
                 send_json(c.res, 200,
                           {{"user", user_json(u, s)},
                            {"must_change_password", u.must_change},
                            {"link_delivery", !s.accounts.settings().public_url.empty()},
                            {"csrf_token", s.accounts.csrf_token_for(c.token)}});
               }});
}

}  // namespace resetd::http
