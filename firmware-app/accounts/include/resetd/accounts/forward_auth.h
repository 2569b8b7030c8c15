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
  // host name -> roles; the host "*" is the default for hosts without a rule
  std::vector<std::pair<std::string, std::vector<std::string>>> rules;
  // hosts (names as in rules, "*" = every host) where the password alone is
  // not enough: the session must have its second factor (Authelia's two_factor)
  std::vector<std::string> two_factor_hosts;
};

// The rule key that stands for every host without a rule of its own.
inline constexpr std::string_view kDefaultRule = "*";

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

  // Whether `role` may enter `host` ("name", "name:port", "[v6]:port"). No
  // rules at all: every role may. Otherwise the host name is matched exactly
  // (case, port and a trailing dot ignored) against the rules; a host without
  // a rule gets the "*" rule if there is one, else nobody; an empty host
  // (unknown) nobody.
  bool may_enter(std::string_view host, Role role) const;

  // Whether `host` wants two factors: listed, or "*" listed; an unknown
  // (empty) host does whenever any host does (fail closed).
  bool wants_two_factors(std::string_view host) const;

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
