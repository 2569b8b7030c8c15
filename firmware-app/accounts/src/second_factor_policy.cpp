// See second_factor_policy.h.
#include "resetd/accounts/second_factor_policy.h"

namespace resetd::accounts {

std::optional<FactorRule> parse_factor_rule(const std::string& s) {
  if (s == "off") return FactorRule::Off;
  if (s == "optional") return FactorRule::Optional;
  if (s == "required") return FactorRule::Required;
  return std::nullopt;
}

std::string factor_rule_name(FactorRule r) {
  switch (r) {
    case FactorRule::Off: return "off";
    case FactorRule::Optional: return "optional";
    case FactorRule::Required: return "required";
  }
  return "optional";
}

SecondFactorPolicy SecondFactorPolicy::site_default() {
  SecondFactorPolicy p;
  p.set(Role::GlobalAdmin, FactorRule::Required);
  return p;
}

}  // namespace resetd::accounts
