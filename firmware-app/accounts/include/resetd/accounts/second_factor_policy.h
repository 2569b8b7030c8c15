// SecondFactorPolicy: whether a role may, must or must not have a second
// factor (issue 23; `[second_factor]` of the config). Pure data and logic.
#pragma once

#include <array>
#include <optional>
#include <string>

#include "resetd/accounts/roles.h"

namespace resetd::accounts {

enum class FactorRule {
  Off,       // the role may not set up a factor (one set up before still asks its code)
  Optional,  // the account's choice
  Required,  // no staff route until a factor is set up
};

std::optional<FactorRule> parse_factor_rule(const std::string& s);
std::string factor_rule_name(FactorRule r);

struct SecondFactorPolicy {
  // Indexed by Role; optional everywhere by default (the site has not turned it on).
  std::array<FactorRule, 5> rules{FactorRule::Optional, FactorRule::Optional, FactorRule::Optional,
                                  FactorRule::Optional, FactorRule::Optional};

  FactorRule rule(Role r) const { return rules[static_cast<size_t>(r)]; }
  void set(Role r, FactorRule f) { rules[static_cast<size_t>(r)] = f; }
  bool required(Role r) const { return rule(r) == FactorRule::Required; }

  // What `[second_factor] enabled = true` means before any role's own key:
  // global_admin required, every other role optional.
  static SecondFactorPolicy site_default();
};

}  // namespace resetd::accounts
