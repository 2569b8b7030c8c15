// ForwardAuthPolicy: the decisions behind forward auth for other web apps of
// the appliance (spec §12): which return URLs (`rd=`) the sign-in page may
// send a browser to, and which roles may enter which host. Pure logic, no I/O;
// immutable after construction, so thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "resetd/accounts/roles.h"

namespace resetd::accounts {

struct ForwardAuthSettings {
  bool enabled = false;
  std::vector<std::string> allowed_redirect_origins;  // scheme://host[:port]
  std::string cookie_domain;                          // empty = host-only cookie
  std::vector<std::pair<std::string, std::vector<std::string>>> rules;  // host -> roles
};

class ForwardAuthPolicy {
 public:
  explicit ForwardAuthPolicy(ForwardAuthSettings s);

  const ForwardAuthSettings& settings() const { return s_; }
  bool enabled() const { return s_.enabled; }
  bool has_rules() const { return !s_.rules.empty(); }

  // `rd` itself when it is an absolute http(s) URL whose origin is listed;
  // nullopt for anything else (relative, scheme-relative, userinfo,
  // backslashes, control characters, percent signs in the authority, other
  // schemes, unlisted origins). Never an open redirect.
  std::optional<std::string> return_url(std::string_view rd) const;

  // Whether `role` may enter `host` ("name" or "name:port"): the rule for
  // "name:port" if any, else for "name", else every role may.
  bool may_enter(std::string_view host, Role role) const;

  // Lower-case "scheme://host[:port]" of an absolute http(s) URL, the
  // default port dropped; nullopt when the URL is not strictly well-formed.
  static std::optional<std::string> origin_of(std::string_view url);
  // The host[:port] part of an absolute http(s) URL (same strictness).
  static std::optional<std::string> host_of(std::string_view url);

 private:
  ForwardAuthSettings s_;
  std::vector<std::string> origins_;  // normalised allowed origins
};

}  // namespace resetd::accounts
