#include <boost/test/unit_test.hpp>

#include "resetd/accounts/second_factor_policy.h"

using namespace resetd::accounts;

BOOST_AUTO_TEST_SUITE(SecondFactorPolicyTests)

BOOST_AUTO_TEST_CASE(default_isOptionalForEveryRole) {
  const SecondFactorPolicy p;
  for (Role r : {Role::User, Role::HelpdeskAdmin, Role::PasswordAdmin, Role::UserAdmin, Role::GlobalAdmin})
    BOOST_TEST((p.rule(r) == FactorRule::Optional));
}

BOOST_AUTO_TEST_CASE(siteDefault_requiresGlobalAdminOnly) {
  auto p = SecondFactorPolicy::site_default();
  BOOST_TEST(p.required(Role::GlobalAdmin));
  BOOST_TEST(!p.required(Role::UserAdmin));
  BOOST_TEST(!p.required(Role::User));
  p.set(Role::HelpdeskAdmin, FactorRule::Required);
  BOOST_TEST(p.required(Role::HelpdeskAdmin));
}

BOOST_AUTO_TEST_CASE(parse_threeWordsOnly) {
  BOOST_TEST((parse_factor_rule("off") == FactorRule::Off));
  BOOST_TEST((parse_factor_rule("required") == FactorRule::Required));
  BOOST_TEST(!parse_factor_rule("Required"));
  BOOST_TEST(!parse_factor_rule(""));
  BOOST_TEST(factor_rule_name(FactorRule::Optional) == "optional");
}

BOOST_AUTO_TEST_SUITE_END()
