// The commands of spec §2, one file each idea: serve.cpp, auth_check.cpp,
// data_commands.cpp (init, check, backup, restore), user_commands.cpp.
// Each returns the process exit code (kOk, kFail, kUsage).
#pragma once

#include <string>

#include "runtime.h"

namespace resetd::cli {

int cmd_serve(Runtime& rt, const std::string& web_dir);
// `timeout_s`: the whole wait for the service (connecting included).
int cmd_auth_check(const std::string& config_path, std::string socket_path, std::string service, int timeout_s);

int cmd_init(Runtime& rt, const std::string& admin, const std::string& email, bool password_stdin);
int cmd_check(Runtime& rt);
int cmd_backup(Runtime& rt, const std::string& to);
int cmd_restore(Runtime& rt, const std::string& from);

int cmd_user_list(Runtime& rt);
// add (`add` true) or break-glass reset of `nu.username`; a generated password is printed once.
int cmd_user_add_or_reset(Runtime& rt, bool add, const accounts::NewUser& nu, bool password_stdin);
int cmd_user_set_role(Runtime& rt, const std::string& username, const std::string& role);
int cmd_user_disable(Runtime& rt, const std::string& username);
// Break-glass: the user signs in with the password alone until they enrol again.
int cmd_user_reset_2fa(Runtime& rt, const std::string& username);

}  // namespace resetd::cli
