#include "resetd/accounts/forward_auth.h"

#include <algorithm>

namespace resetd::accounts {
namespace {

struct Parsed {
  std::string scheme;  // http | https
  std::string host;    // lower case, brackets kept for IPv6
  std::string port;    // empty = default
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// Strict: printable ASCII only, no backslash anywhere (browsers read '\' as
// '/' in http URLs), authority of host[:port] without userinfo or escapes.
std::optional<Parsed> parse(std::string_view url) {
  if (url.empty() || url.size() > 2048) return std::nullopt;
  for (char c : url) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '\\') return std::nullopt;
  }
  Parsed p;
  const std::string head = lower(url.substr(0, std::min<size_t>(url.size(), 8)));
  std::string_view rest;
  if (head.rfind("https://", 0) == 0) {
    p.scheme = "https";
    rest = url.substr(8);
  } else if (head.rfind("http://", 0) == 0) {
    p.scheme = "http";
    rest = url.substr(7);
  } else {
    return std::nullopt;
  }
  const size_t end = rest.find_first_of("/?#");
  const std::string_view auth = rest.substr(0, end);
  if (auth.empty() || auth.size() > 260) return std::nullopt;
  std::string_view host = auth, port;
  if (auth.front() == '[') {
    const size_t close = auth.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = auth.substr(0, close + 1);
    const std::string_view after = auth.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::nullopt;
      port = after.substr(1);
    }
    if (host.substr(1, host.size() - 2).find_first_not_of("0123456789abcdefABCDEF:.") !=
        std::string_view::npos)
      return std::nullopt;
  } else {
    const size_t colon = auth.find(':');
    if (colon != std::string_view::npos) {
      host = auth.substr(0, colon);
      port = auth.substr(colon + 1);
    }
    // "name." is "name" to DNS, browsers and nginx's server_name: one spelling only.
    while (!host.empty() && host.back() == '.') host.remove_suffix(1);
    if (host.empty() ||
        host.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") !=
            std::string_view::npos)
      return std::nullopt;
  }
  if (auth.find(':') != std::string_view::npos && port.empty() && auth.front() != '[')
    return std::nullopt;  // "host:" with nothing after
  if (!port.empty()) {
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos)
      return std::nullopt;
    const int n = std::stoi(std::string(port));
    if (n < 1 || n > 65535) return std::nullopt;
    if ((p.scheme == "https" && n == 443) || (p.scheme == "http" && n == 80)) port = {};
  }
  p.host = lower(host);
  p.port = std::string(port);
  if (!p.port.empty()) p.port = std::to_string(std::stoi(p.port));  // "08080" -> "8080"
  return p;
}

std::string host_port(const Parsed& p) { return p.port.empty() ? p.host : p.host + ":" + p.port; }

// The host name alone: "Name.:port" -> "name", "[::1]:80" -> "[::1]" (lower
// case, the port and trailing dots of a name dropped). Rules name hosts, never
// ports, so every spelling of one host finds the same rule.
std::string host_name(std::string_view in) {
  std::string h = lower(in);
  if (!h.empty() && h.front() == '[') return h.substr(0, h.find(']') + 1);
  h = h.substr(0, h.find(':'));
  while (!h.empty() && h.back() == '.') h.pop_back();
  return h;
}

}  // namespace

ForwardAuthPolicy::ForwardAuthPolicy(ForwardAuthSettings s) : s_(std::move(s)) {
  for (const auto& o : s_.allowed_redirect_origins)
    if (auto n = origin_of(o)) origins_.push_back(*n);
  for (auto& [host, roles] : s_.rules)
    if (host != kDefaultRule) host = host_name(host);
}

std::optional<std::string> ForwardAuthPolicy::origin_of(std::string_view url) {
  auto p = parse(url);
  if (!p) return std::nullopt;
  return p->scheme + "://" + host_port(*p);
}

std::optional<std::string> ForwardAuthPolicy::host_of(std::string_view url) {
  auto p = parse(url);
  if (!p) return std::nullopt;
  return host_port(*p);
}

std::optional<std::string> ForwardAuthPolicy::return_url(std::string_view rd) const {
  auto o = origin_of(rd);
  if (!o) return std::nullopt;
  if (std::find(origins_.begin(), origins_.end(), *o) == origins_.end()) return std::nullopt;
  return std::string(rd);
}

bool ForwardAuthPolicy::may_enter(std::string_view host_in, Role role) const {
  if (s_.rules.empty()) return true;
  const std::string host = host_name(host_in);
  if (host.empty() || host == "[]") return false;  // rules exist but the host is unknown: fail closed
  const std::vector<std::string>* roles = nullptr;
  const std::vector<std::string>* fallback = nullptr;
  for (const auto& [h, r] : s_.rules) {
    if (h == host) roles = &r;
    if (h == kDefaultRule) fallback = &r;
  }
  // A host without a rule (an IP literal, [::1], a typo, another name of the
  // proxy) gets the "*" rule when the operator wrote one, else nobody enters.
  if (!roles) roles = fallback;
  if (!roles) return false;
  const std::string rn = role_name(role);
  return std::find(roles->begin(), roles->end(), rn) != roles->end();
}

bool ForwardAuthPolicy::wants_two_factors(std::string_view host_in) const {
  if (s_.two_factor_hosts.empty()) return false;
  const std::string host = host_name(host_in);
  if (host.empty() || host == "[]") return true;
  for (const auto& h : s_.two_factor_hosts)
    if (h == host || h == kDefaultRule) return true;
  return false;
}

}  // namespace resetd::accounts
