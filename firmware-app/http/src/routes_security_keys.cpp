// /session/second-factor/security-key…: adding and removing a security key (WebAuthn) and
// the challenge of a sign-in's second step with one. Bytes travel base64url.
#include "api.h"

namespace resetd::http {
namespace {
json challenge_json(const accounts::SecurityKeyChallenge& ch) {
  return {{"challenge", ch.challenge}, {"rp_id", ch.rp_id}, {"credentials", ch.credentials},
          {"timeout_ms", ch.timeout_ms}};
}
}  // namespace

std::string page_origin(const Ctx& c, const Services& s) {
  if (!s.opts.public_url.empty()) return url_origin(s.opts.public_url);
  return std::string(s.tls ? "https://" : "http://") + c.req.get_header_value("Host");
}

accounts::SecurityKeyAssertion key_assertion(const json& body) {
  const auto it = body.find("security_key");
  if (it == body.end() || !it->is_object())
    fail(400, "bad_request", "security_key must be an object.", "security_key");
  accounts::SecurityKeyAssertion a;
  a.credential_id = req_string(*it, "id");
  a.client_data_json = req_string(*it, "client_data_json");
  a.authenticator_data = req_string(*it, "authenticator_data");
  a.signature = req_string(*it, "signature");
  return a;
}

json security_keys_json(const std::vector<accounts::SecurityKeyInfo>& keys) {
  json out = json::array();
  for (const auto& k : keys) {
    out.push_back({{"id", k.id}, {"name", k.name}, {"rp_id", k.rp_id}, {"created_at", k.created_at},
                   {"last_used_at", k.last_used_at ? json(*k.last_used_at) : json(nullptr)}});
  }
  return out;
}

json rp_id_json(const std::string& origin) {
  const auto rp = accounts::AccountService::security_key_rp_id(origin);
  return rp ? json(*rp) : json(nullptr);
}

void add_security_key_routes(std::vector<Route>& r, Services& s) {
  // A sign-in's second step: the challenge for the pending sign-in (no
  // session yet: the pending token in the body, like POST /session/second-factor).
  r.push_back({"POST", PathPattern("/session/second-factor/security-key/challenge"), Auth::None, [&s](Ctx& c) {
                 const std::string pending = req_string(c.body, "pending_token");
                 auto ch = take(s.accounts.security_key_challenge(pending, c.client, page_origin(c, s)));
                 c.res.set_header("Cache-Control", "no-store");
                 send_json(c.res, 200, challenge_json(ch));
               }});
  r.push_back({"POST", PathPattern("/session/second-factor/security-key"), Auth::Enrolment, [&s](Ctx& c) {
                 auto ch = take(s.accounts.begin_security_key(*c.actor, opt_string(c.body, "current_password"),
                                                              opt_string(c.body, "name").value_or(""),
                                                              page_origin(c, s)));
                 json out = challenge_json(ch);
                 out["user"] = {{"id", ch.user_id}, {"name", c.actor->username}};
                 c.res.set_header("Cache-Control", "no-store");
                 send_json(c.res, 200, out);
               }});
  r.push_back({"POST", PathPattern("/session/second-factor/security-key/confirm"), Auth::Enrolment, [&s](Ctx& c) {
                 auto k = take(s.accounts.confirm_security_key(*c.actor, req_string(c.body, "client_data_json"),
                                                               req_string(c.body, "authenticator_data"),
                                                               page_origin(c, s)));
                 send_json(c.res, 200, {{"security_key", security_keys_json({k})[0]}});
               }});
  // Removing one key: the current password, like removing the app (POST
  // …/remove, not DELETE: the password travels in a body).
  r.push_back({"POST", PathPattern("/session/second-factor/security-key/(\\d+)/remove"), Auth::Session,
               [&s](Ctx& c) {
                 const auto pw = opt_string(c.body, "current_password");
                 if (pw && pw->size() > 4096)
                   fail(422, "wrong_current_password", "The current password is incorrect.", "current_password");
                 take(s.accounts.remove_security_key(*c.actor, pw, path_id(c)));
                 auto st = take(s.accounts.second_factor_state(*c.actor));
                 send_json(c.res, 200, {{"security_keys", security_keys_json(st.security_keys)}, {"totp", st.totp}});
               }});
}

}  // namespace resetd::http
