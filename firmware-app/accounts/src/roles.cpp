#include "resetd/accounts/roles.h"

namespace resetd::accounts {

std::optional<Role> parse_role(const std::string& s) {
  if (s == "user") return Role::User;
  if (s == "helpdesk_admin") return Role::HelpdeskAdmin;
  if (s == "password_admin") return Role::PasswordAdmin;
  if (s == "user_admin") return Role::UserAdmin;
  if (s == "global_admin") return Role::GlobalAdmin;
  return std::nullopt;
}

std::string role_name(Role r) {
  switch (r) {
    case Role::User: return "user";
    case Role::HelpdeskAdmin: return "helpdesk_admin";
    case Role::PasswordAdmin: return "password_admin";
    case Role::UserAdmin: return "user_admin";
    case Role::GlobalAdmin: return "global_admin";
  }
  return "user";
}

bool is_admin(Role r) { return r != Role::User; }

bool may_reset(Role actor, Role target) {
  switch (actor) {
    case Role::GlobalAdmin: return true;
    case Role::UserAdmin: return target != Role::GlobalAdmin;
    case Role::HelpdeskAdmin: return target == Role::User || target == Role::HelpdeskAdmin;
    case Role::PasswordAdmin: return target == Role::User || target == Role::PasswordAdmin;
    case Role::User: return false;
  }
  return false;
}

bool may_manage(Role actor, Role target) {
  if (actor == Role::GlobalAdmin) return true;
  if (actor == Role::UserAdmin) return may_reset(actor, target);
  return false;
}

bool may_assign(Role actor, Role r) {
  if (actor == Role::GlobalAdmin) return true;
  if (actor == Role::UserAdmin) return r != Role::GlobalAdmin;
  return false;
}

bool covers(Role a, Role b) {
  if (a == b || a == Role::GlobalAdmin || b == Role::User) return true;
  return a == Role::UserAdmin && b != Role::GlobalAdmin;
}

bool may_administer_site(Role actor) { return actor == Role::GlobalAdmin; }

}  // namespace resetd::accounts
