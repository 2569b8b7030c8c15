// Internal to http/: the request context, route table and JSON helpers shared
// by the routes_*.cpp files.
#pragma once

#include <httplib.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <string>
#include <vector>

#include "resetd/accounts/service.h"
#include "resetd/common/clock.h"
#include "resetd/http/server.h"
#include "resetd/storage/store.h"
#include "list_cache.h"

namespace resetd::http {

using json = nlohmann::json;

// Thrown by body/param helpers; the dispatcher turns it into the error JSON.
struct ApiError {
  int status;
  Error error;
};

// A route's path under /api/v1: literal segments, and "(\\d+)" segments
// that match a run of digits and capture it. Matched segment by segment, with
// no regex engine.
class PathPattern {
 public:
  explicit PathPattern(std::string_view pattern);
  // On a match, caps[0] is the whole path and caps[i] the i-th capture.
  bool match(std::string_view path, std::vector<std::string>& caps) const;

 private:
  std::vector<std::string> segments_;  // "" stands for a digits capture
};

struct Ctx {
  const httplib::Request& req;
  httplib::Response& res;
  std::vector<std::string> m;  // path captures, as PathPattern::match fills them
  std::optional<accounts::Actor> actor;
  std::string token;  // session cookie value, when signed in
  std::string client;
  json body;  // parsed JSON object (empty object when no body)
};

enum class Auth {
  None,          // anyone
  Session,       // signed in, and not restricted to a password change or to enrolment
  AnySession,    // signed in, also restricted (must-change, enrolment-only) sessions
  Enrolment,     // signed in, not must-change; also while a required second factor is missing
};

struct Route {
  std::string method;
  PathPattern pattern;
  Auth auth;
  std::function<void(Ctx&)> handler;
};

struct Services {
  accounts::AccountService& accounts;
  storage::Store& store;
  const Clock& clock;
  const ServerOptions& opts;
  const ServerHooks& hooks;
  bool tls;
  accounts::ForwardAuthPolicy forward_auth;
  std::shared_ptr<ListCache> list_cache = std::make_shared<ListCache>();
};

// The server's TLS context: TLS 1.2+ with forward-secret AEAD suites only
// (TLS 1.2: ECDHE with AES-GCM or ChaCha20-Poly1305; TLS 1.3: OpenSSL's
// defaults, all AEAD), no compression or renegotiation. Null + `error`.
struct ssl_ctx_st* make_tls_context(const std::string& cert, const std::string& key, std::string* error);

// "scheme://host[:port]" of a URL as a browser sends it in Origin.
std::string url_origin(const std::string& url);
// The origin of the page a request comes from, as the same-origin check sees
// it: public_url's when set, else the Host the request came to.
std::string page_origin(const Ctx& c, const Services& s);
void add_security_key_routes(std::vector<Route>& r, Services& s);
// routes_security_keys.cpp: the "security_key" object of a sign-in's second
// step, and the JSON of an account's keys / of the page's rp id (null on an IP address).
accounts::SecurityKeyAssertion key_assertion(const json& body);
json security_keys_json(const std::vector<accounts::SecurityKeyInfo>& keys);
json rp_id_json(const std::string& origin);

void add_session_routes(std::vector<Route>& r, Services& s);
void add_user_routes(std::vector<Route>& r, Services& s);
void add_user_csv_routes(std::vector<Route>& r, Services& s);
void add_misc_routes(std::vector<Route>& r, Services& s);
void add_site_routes(std::vector<Route>& r, Services& s);
void add_forward_auth_routes(std::vector<Route>& r, Services& s);

// The host-only session cookie (full session), and the forward-auth cookie
// that only GET /auth/verify accepts.
inline constexpr const char* kSessionCookie = "resetd_session";
inline constexpr const char* kForwardCookie = "resetd_forward";
// The session cookie's name: with a cookie_domain shared by sibling hosts and
// TLS, "__Host-resetd_session" (browsers let no other host set a __Host-
// cookie, so a sibling app cannot toss its own session in), else kSessionCookie.
std::string session_cookie_name(const Services& s);
// Set-Cookie values for a session token (empty + max_age 0: clear them): the
// host-only session cookie, and with forward_auth.cookie_domain also the
// forward-auth cookie for that domain.
std::vector<std::string> session_cookies(const Services& s, const std::string& token, int64_t max_age);
// Whether the socket peer may speak for the browser (X-Forwarded-*,
// X-Original-URL): loopback or listed in trusted_proxies.
bool peer_is_trusted_proxy(const Services& s, const std::string& peer);
void add_directory_routes(std::vector<Route>& r, Services& s);
void add_second_factor_routes(std::vector<Route>& r, Services& s);
void add_caller_routes(std::vector<Route>& r, Services& s);
// Removing one's own factor and new recovery codes (routes_own_second_factor.cpp).
void add_own_second_factor_routes(std::vector<Route>& r, Services& s);
// The answer to a completed sign-in (either step): cookies, user, CSRF token, redirect.
void send_signed_in(Services& s, Ctx& c, const accounts::SignIn& in, const std::optional<std::string>& rd);
// `generation`: the request's Actor::generation, to reuse the intent count.
json directory_status_json(accounts::AccountService& a, std::optional<uint64_t> generation = std::nullopt);

int status_for(const std::string& code);
void send_error(httplib::Response& res, int status, const Error& e);
void send_error(httplib::Response& res, const Error& e);  // status from status_for
void send_json(httplib::Response& res, int status, const json& j);
// res.set_content(body, content_type) without copying the body (0.11.4 has
// no rvalue overload).
void set_body(httplib::Response& res, std::string&& body, const char* content_type);

json user_json(const storage::UserRecord& u, const Services& s);
json user_json(const storage::UserRecord& u, const Services& s, const accounts::ExpirationSettings& e);
json user_json_at(const storage::UserRecord& u, int64_t now, const accounts::ExpirationSettings& e);
// The same bytes as user_json_at(...).dump(), appended without building a
// json object (lists: most of a page's CPU went to map nodes).
void append_user_json(std::string& out, const storage::UserRecord& u, int64_t now,
                      const accounts::ExpirationSettings& e);
json notification_json(const storage::OutboxRecord& m);

// The request body as a JSON object; ApiError 400 malformed_json otherwise.
json body_object(const std::string& body);

// Body field readers: absent -> nullopt; wrong type -> ApiError 400.
std::optional<std::string> opt_string(const json& b, const char* key);
std::optional<bool> opt_bool(const json& b, const char* key);
std::optional<int64_t> opt_int(const json& b, const char* key);
std::string req_string(const json& b, const char* key);
accounts::ResetOptions reset_options(const json& b);

// Query parameter as integer within [lo, hi]; ApiError 422 otherwise.
int64_t query_int(const httplib::Request& req, const char* key, int64_t def, int64_t lo, int64_t hi);
// Query parameter true/1 or false/0; absent -> nullopt; ApiError 422 otherwise.
std::optional<bool> query_bool(const httplib::Request& req, const char* key);
int64_t path_id(const Ctx& c, int group = 1);

[[noreturn]] inline void fail(int status, std::string code, std::string message,
                              std::string field = {}) {
  throw ApiError{status, make_error(std::move(code), std::move(message), std::move(field))};
}
// Unwraps a Result or throws its error.
template <typename T>
T take(Result<T> r) {
  if (!r) throw ApiError{status_for(r.error().code), r.error()};
  return std::move(r.value());
}
inline void take(Status s) {
  if (!s) throw ApiError{status_for(s.error().code), s.error()};
}

}  // namespace resetd::http
