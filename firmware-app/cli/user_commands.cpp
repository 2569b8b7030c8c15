// `resetd user ...`: console account management (physical access is the trust anchor).
#include <cstdio>
#include <iostream>

#include "commands.h"
#include "resetd/accounts/text.h"

namespace resetd::cli {

int cmd_user_list(Runtime& rt) {
  storage::UserPage page;
  storage::UserQuery q;
  q.limit = 1'000'000;
  rt.store->read([&](storage::Reader& r) { page = r.list_users(q); });
  std::printf("%-24s %-15s %-32s %s\n", "USERNAME", "ROLE", "EMAIL", "STATE");
  const int64_t now = rt.clock.now();
  for (const auto& u : page.users) {
    std::string state = u.disabled ? "disabled" : (u.locked_until && *u.locked_until > now) ? "locked" : "active";
    if (u.must_change) state += ",must-change";
    std::printf("%-24s %-15s %-32s %s\n", u.username.c_str(), u.role.c_str(), u.email.c_str(), state.c_str());
  }
  return kOk;
}

int cmd_user_add_or_reset(Runtime& rt, bool add, const accounts::NewUser& nu, bool password_stdin) {
  std::string pw;
  if (int rc = password_from_stdin(password_stdin, &pw); rc != kOk) return rc;
  const bool generated = pw.empty();
  if (generated) pw = crypto::generate_password(16);
  if (add) {
    auto r = rt.accounts->console_add_user(nu, pw);
    if (!r) return status_exit(r.error());
    std::cout << "user " << r->username << " added (must change the password at first sign-in)\n";
  } else {
    if (int rc = status_exit(rt.accounts->console_set_password(nu.username, pw, true)); rc != kOk) return rc;
    std::cout << "password of " << accounts::ascii_lower(nu.username)
              << " reset; lockout cleared; must be changed at next sign-in\n";
  }
  // Console = physical access: the operator sees the generated password once, here.
  if (generated) std::cout << "temporary password: " << pw << "\n";
  return kOk;
}

int cmd_user_set_role(Runtime& rt, const std::string& username, const std::string& role) {
  int rc = status_exit(rt.accounts->console_set_role(username, role));
  if (rc == kOk) std::cout << "role of " << accounts::ascii_lower(username) << " is now " << role << "\n";
  return rc;
}

int cmd_user_disable(Runtime& rt, const std::string& username) {
  int rc = status_exit(rt.accounts->console_disable(username));
  if (rc == kOk) std::cout << accounts::ascii_lower(username) << " disabled\n";
  return rc;
}

int cmd_user_reset_2fa(Runtime& rt, const std::string& username) {
  int rc = status_exit(rt.accounts->console_reset_second_factor(username));
  if (rc == kOk)
    std::cout << "second factor of " << accounts::ascii_lower(username)
              << " removed; the password alone signs in until a new one is set up\n";
  return rc;
}

}  // namespace resetd::cli
