// Roles and who may do what to whom (spec §4). Pure functions.
#pragma once

#include <optional>
#include <string>

namespace resetd::accounts {

enum class Role { User, HelpdeskAdmin, PasswordAdmin, UserAdmin, GlobalAdmin };

std::optional<Role> parse_role(const std::string& s);
std::string role_name(Role r);

bool is_admin(Role r);
// The password-reset table of spec §4 (also governs unlock). Self-reset is
// decided by the caller (it is always refused).
bool may_reset(Role actor, Role target);
// Create / edit / disable / delete a user whose role is `target`.
bool may_manage(Role actor, Role target);
// Give role `r` to someone (on create or edit).
bool may_assign(Role actor, Role r);
// `a` holds every power `b` has (same role, or global_admin, or user_admin
// over helpdesk/password admins): going from `a` to `b` takes nothing away.
bool covers(Role a, Role b);
// Settings, audit, backup.
bool may_administer_site(Role actor);

}  // namespace resetd::accounts
