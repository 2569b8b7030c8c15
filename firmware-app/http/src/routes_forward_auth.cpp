// Forward auth for the appliance's other web apps (spec §12): the endpoint a
// reverse proxy asks on every request (nginx auth_request, Caddy forward_auth,
// Traefik ForwardAuth), the return-URL check of the sign-in page, and the
// read-only "integrations" view of the settings page.
//
// GET /auth/verify reads the session only (idle time lives in memory), so it
// writes nothing to flash however often a proxy calls it.
#include "api.h"
#include "guards.h"

namespace resetd::http {
namespace {

bool is_loopback(const std::string& peer) {
  return peer.rfind("127.", 0) == 0 || peer == "::1" || peer.rfind("::ffff:127.", 0) == 0;
}

std::string url_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : s) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += hex[ch >> 4];
      out += hex[ch & 15];
    }
  }
  return out;
}

// Header values from user data: control characters (CR LF above all) become
// spaces, and the length is bounded.
std::string header_safe(const std::string& v) {
  std::string out = v.substr(0, 256);
  for (auto& ch : out)
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) ch = ' ';
  return out;
}

// The URL the browser asked the proxy for, from headers only a trusted proxy
// may send: X-Original-URL (nginx, set in its config), else
// X-Forwarded-Proto + X-Forwarded-Host + X-Forwarded-Uri (Caddy, Traefik).
// A header a proxy sets once, sent twice: a proxy that appends instead of
// replacing passed the client's own copy on. Which one is the proxy's cannot
// be told, so neither counts (host unknown: host rules refuse).
bool forwarded_twice(const Ctx& c) {
  for (const char* h : {"X-Original-URL", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Uri"})
    if (c.req.get_header_value_count(h) > 1) return true;
  return false;
}

std::string original_url(const Ctx& c) {
  if (forwarded_twice(c)) return {};
  const std::string orig = c.req.get_header_value("X-Original-URL");
  if (!orig.empty()) return orig;
  const std::string proto = c.req.get_header_value("X-Forwarded-Proto");
  const std::string host = c.req.get_header_value("X-Forwarded-Host");
  std::string uri = c.req.get_header_value("X-Forwarded-Uri");
  if ((proto != "http" && proto != "https") || host.empty()) return {};
  if (uri.empty() || uri.front() != '/') uri = "/" + uri;
  return proto + "://" + host + uri;
}

// The host the browser asked the proxy for, for host rules; empty (so a rule
// refuses) when unknown or when X-Original-URL and X-Forwarded-Host disagree.
// Proxies pass the client's own headers on to the auth request (nginx sets
// only X-Original-URL, Caddy only X-Forwarded-*), so either header may be the
// client's: a host both name, or the only one named, is the one that counts.
std::string requested_host(const Ctx& c) {
  using accounts::ForwardAuthPolicy;
  if (forwarded_twice(c)) return {};
  const std::string orig = c.req.get_header_value("X-Original-URL");
  const std::string fwd = c.req.get_header_value("X-Forwarded-Host");
  const auto from_orig = orig.empty() ? std::nullopt : ForwardAuthPolicy::host_of(orig);
  if (fwd.empty()) return from_orig.value_or("");
  std::string scheme = c.req.get_header_value("X-Forwarded-Proto");
  if (from_orig) {
    const std::string o = *ForwardAuthPolicy::origin_of(orig);
    scheme = o.substr(0, o.find(':'));
  }
  if (scheme != "http" && scheme != "https") scheme = "https";
  const auto from_fwd = ForwardAuthPolicy::host_of(scheme + "://" + fwd + "/");
  if (!from_fwd || (!orig.empty() && from_orig != from_fwd)) return {};
  return *from_fwd;
}

std::string base_url(const Services& s, const Ctx& c) {
  std::string b = s.opts.public_url;
  if (b.empty()) b = std::string(s.tls ? "https://" : "http://") + c.req.get_header_value("Host");
  while (!b.empty() && b.back() == '/') b.pop_back();
  return b;
}

}  // namespace

bool peer_is_trusted_proxy(const Services& s, const std::string& peer) {
  if (is_loopback(peer)) return true;
  for (const auto& tp : s.opts.trusted_proxies)
    if (tp == peer) return true;
  return false;
}

void add_forward_auth_routes(std::vector<Route>& r, Services& s) {
  r.push_back({"GET", PathPattern("/auth/verify"), Auth::None, [&s](Ctx& c) {
                 if (!s.forward_auth.enabled())
                   fail(404, "not_found", "Forward auth is off ([forward_auth] enabled = false).");
                 // Only a trusted proxy speaks for the browser; from anyone else the
                 // forwarded headers are ignored (host unknown: host rules refuse).
                 const bool trusted = peer_is_trusted_proxy(s, c.req.remote_addr);
                 const std::string orig = trusted ? original_url(c) : std::string();
                 const std::string host = trusted ? requested_host(c) : std::string();
                 // Caddy and Traefik hand a non-2xx answer to the browser as is:
                 // ?redirect=1 makes it a 302. nginx auth_request wants 401.
                 const bool redirect = c.req.get_param_value("redirect") == "1";
                 auto send_away = [&](const std::string& to, const char* code, const char* msg) {
                   c.res.set_header("X-Resetd-Redirect", to);
                   c.res.set_header("Location", to);
                   send_error(c.res, redirect ? 302 : 401, make_error(code, msg));
                 };
                 const std::string base = base_url(s, c);
                 // Sibling hosts carry the forward-auth cookie (cookie_domain), which
                 // no other route accepts; resetd's own host the session cookie.
                 if (!c.actor) {
                   const std::string fwd = cookie_value(c.req, kForwardCookie);
                   if (!fwd.empty())
                     c.actor = s.accounts.authenticate_forward(fwd, c.client,
                                                               c.req.get_header_value("X-Background") != "1");
                 }
                 if (!c.actor) {
                   std::string to = base + "/";
                   if (!orig.empty() && s.forward_auth.return_url(orig)) to += "?rd=" + url_encode(orig);
                   return send_away(to + "#/signin", "not_signed_in", "Sign in first.");
                 }
                 if (c.actor->must_change)
                   return send_away(base + "/#/password", "password_change_required",
                                    "Change your password first.");
                 if (c.actor->second_factor_missing)
                   return send_away(base + "/#/second-factor", "second_factor_required",
                                    "Set up an authenticator app first.");
                 if (s.forward_auth.has_rules() && !s.forward_auth.may_enter(host, c.actor->role))
                   fail(403, "forbidden", "Your role may not enter this site.");
                 // A two_factor host: a password-only session is turned away
                 // like a role that may not enter (signing in again cannot help
                 // until the account has a factor).
                 if (s.forward_auth.wants_two_factors(host) && !c.actor->second_factor)
                   fail(403, "second_factor_required",
                        "This site requires a second factor: set up an authenticator app on resetd first.");
                 c.res.set_header("Remote-User", header_safe(c.actor->username));
                 c.res.set_header("Remote-Name", header_safe(c.actor->display_name));
                 c.res.set_header("Remote-Email", header_safe(c.actor->email));
                 c.res.set_header("Remote-Groups", accounts::role_name(c.actor->role));
                 // The password and the account's second factors, one of which
                 // every session of it proved (Authelia's one_factor / two_factor).
                 c.res.set_header("Remote-Factors",
                                  c.actor->factors.empty() ? std::string("password") : "password," + c.actor->factors);
                 c.res.status = 200;
               }});
  r.push_back({"GET", PathPattern("/auth/redirect"), Auth::None, [&s](Ctx& c) {
                 if (!s.forward_auth.enabled())
                   fail(404, "not_found", "Forward auth is off ([forward_auth] enabled = false).");
                 const std::string rd = c.req.get_param_value("rd");
                 auto url = s.forward_auth.return_url(rd);
                 if (!url)
                   fail(422, "redirect_not_allowed", "That return address is not among the configured sites.", "rd");
                 // A signed-in account without an app, bound for a two_factor host,
                 // would only meet the proxy's 403: the page sends it to enrol first.
                 // (Not when a host rule keeps the role out, or its policy is "off":
                 // setting up an app would not help or is not offered.)
                 const std::string host = accounts::ForwardAuthPolicy::host_of(*url).value_or("");
                 const bool needs =
                     c.actor && !c.actor->second_factor && s.forward_auth.wants_two_factors(host) &&
                     (!s.forward_auth.has_rules() || s.forward_auth.may_enter(host, c.actor->role)) &&
                     s.accounts.settings().second_factor.rule(c.actor->role) != accounts::FactorRule::Off;
                 send_json(c.res, 200, {{"redirect", *url}, {"second_factor_required", needs}});
               }});
  r.push_back({"GET", PathPattern("/settings/integrations"), Auth::Session, [&s](Ctx& c) {
                 if (!accounts::may_administer_site(c.actor->role))
                   fail(403, "forbidden", "Only a global admin may do this.");
                 const auto& fa = s.forward_auth.settings();
                 json rules = json::array();
                 for (const auto& [host, roles] : fa.rules) rules.push_back({{"host", host}, {"roles", roles}});
                 send_json(c.res, 200,
                           {{"forward_auth",
                             {{"enabled", fa.enabled},
                              {"allowed_redirect_origins", fa.allowed_redirect_origins},
                              {"cookie_domain", fa.cookie_domain},
                              {"rules", rules},
                              {"two_factor", fa.two_factor_hosts}}},
                            {"pam",
                             {{"enabled", s.opts.pam_enabled},
                              {"socket", s.opts.pam_socket},
                              {"group", s.opts.pam_group}}}});
               }});
}

}  // namespace resetd::http
