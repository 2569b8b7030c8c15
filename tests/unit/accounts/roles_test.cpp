#include <boost/test/unit_test.hpp>

#include "resetd/accounts/roles.h"

using namespace resetd::accounts;

BOOST_AUTO_TEST_SUITE(Roles)

// Spec §4, row by row: actor \ target  user helpdesk password user_admin global
BOOST_AUTO_TEST_CASE(may_reset_allPairs_matchSpecTable) {
  const Role order[] = {Role::User, Role::HelpdeskAdmin, Role::PasswordAdmin, Role::UserAdmin,
                        Role::GlobalAdmin};
  struct Row {
    Role actor;
    bool allowed[5];
  };
  const Row table[] = {
      {Role::GlobalAdmin, {true, true, true, true, true}},
      {Role::UserAdmin, {true, true, true, true, false}},
      {Role::HelpdeskAdmin, {true, true, false, false, false}},
      {Role::PasswordAdmin, {true, false, true, false, false}},
      {Role::User, {false, false, false, false, false}},
  };
  int checked = 0;
  for (const Row& row : table)
    for (int t = 0; t < 5; ++t) {
      BOOST_TEST_CONTEXT(role_name(row.actor) << " -> " << role_name(order[t])) {
        BOOST_TEST(may_reset(row.actor, order[t]) == row.allowed[t]);
      }
      ++checked;
    }
  BOOST_TEST(checked == 25);
}

BOOST_AUTO_TEST_CASE(may_assign_userAdmin_cannotGiveGlobalAdmin) {
  BOOST_TEST(may_assign(Role::UserAdmin, Role::UserAdmin));
  BOOST_TEST(!may_assign(Role::UserAdmin, Role::GlobalAdmin));
  BOOST_TEST(may_assign(Role::GlobalAdmin, Role::GlobalAdmin));
  BOOST_TEST(!may_assign(Role::HelpdeskAdmin, Role::User));
}

BOOST_AUTO_TEST_CASE(may_manage_followsResetTableForUserAdmin) {
  BOOST_TEST(may_manage(Role::UserAdmin, Role::PasswordAdmin));
  BOOST_TEST(!may_manage(Role::UserAdmin, Role::GlobalAdmin));
  BOOST_TEST(!may_manage(Role::HelpdeskAdmin, Role::User));
  BOOST_TEST(!may_manage(Role::PasswordAdmin, Role::User));
}

BOOST_AUTO_TEST_CASE(parse_role_roundTripsAndRejectsUnknown) {
  for (auto r : {"user", "helpdesk_admin", "password_admin", "user_admin", "global_admin"})
    BOOST_TEST(role_name(*parse_role(r)) == r);
  BOOST_TEST(!parse_role("root").has_value());
  BOOST_TEST(!parse_role("Global_Admin").has_value());
}

BOOST_AUTO_TEST_SUITE_END()
