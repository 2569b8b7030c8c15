// resetd's command line (spec §2): the options of each command, and which
// command runs. The commands themselves live beside this file (commands.h).
#include "cli.h"

#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "commands.h"
#include "resetd/common/test_hooks.h"

namespace resetd {

using namespace cli;

int run_cli(int argc, char** argv) {
  // Everything resetd creates (database, snapshots, keys, mail) is private to
  // its user; a file is never readable by others, not even for a moment.
  ::umask(077);
  if (!crypto::init()) {
    std::cerr << "resetd: libsodium failed to initialize\n";
    return kFail;
  }
  CLI::App app{"resetd — reset appliance users' passwords and get the new credentials to them"};
  app.require_subcommand(1);
  app.set_version_flag("--version", RESETD_VERSION);

  std::string config_path, data_dir, listen, web_dir;
  bool no_tls = false;
  auto* serve = app.add_subcommand("serve", "Run the service");
  serve->add_option("--config", config_path, "TOML configuration file");
  serve->add_option("--data-dir", data_dir, "Data directory");
  serve->add_option("--listen", listen, "HOST:PORT to listen on");
  serve->add_flag("--no-tls", no_tls, "Serve plain HTTP");
  serve->add_option("--web-dir", web_dir, "Serve the UI from this directory (development)");

  std::string admin, email, username, display_name, role = "user", locale, to, from;
  bool pw_stdin = false;
  auto* init = app.add_subcommand("init", "Create the data dir, database, key and first admin");
  init->add_option("--data-dir", data_dir, "Data directory")->required();
  init->add_option("--admin", admin, "Username of the first global admin")->required();
  init->add_option("--email", email, "Email address of the first admin");
  init->add_flag("--password-stdin", pw_stdin, "Read the password from standard input");

  auto* user = app.add_subcommand("user", "Manage users from the console");
  user->require_subcommand(1);
  auto* ulist = user->add_subcommand("list", "List users");
  ulist->add_option("--data-dir", data_dir, "Data directory")->required();
  auto* uadd = user->add_subcommand("add", "Add a user");
  uadd->add_option("--data-dir", data_dir, "Data directory")->required();
  uadd->add_option("--config", config_path, "TOML configuration file (default /etc/resetd/resetd.toml if present; [pam] reserves the OS's names)");
  uadd->add_option("--username", username, "Username")->required();
  uadd->add_option("--email", email, "Email address")->required();
  uadd->add_option("--display-name", display_name, "Display name");
  uadd->add_option("--role", role, "Role")
      ->check(CLI::IsMember({"user", "helpdesk_admin", "password_admin", "user_admin", "global_admin"}));
  uadd->add_option("--locale", locale, "Locale")->check(CLI::IsMember({"en", "zh-TW", "tr-TR"}));
  uadd->add_flag("--password-stdin", pw_stdin, "Read the password from standard input");
  auto* ureset = user->add_subcommand("reset-password", "Break-glass password reset (clears lockout)");
  ureset->add_option("--data-dir", data_dir, "Data directory")->required();
  ureset->add_option("--username", username, "Username")->required();
  ureset->add_flag("--password-stdin", pw_stdin, "Read the password from standard input");
  auto* urole = user->add_subcommand("set-role", "Change a user's role");
  urole->add_option("--data-dir", data_dir, "Data directory")->required();
  urole->add_option("--username", username, "Username")->required();
  urole->add_option("--role", role, "Role")
      ->required()
      ->check(CLI::IsMember({"user", "helpdesk_admin", "password_admin", "user_admin", "global_admin"}));
  auto* udis = user->add_subcommand("disable", "Disable a user");
  udis->add_option("--data-dir", data_dir, "Data directory")->required();
  udis->add_option("--username", username, "Username")->required();
  auto* u2fa = user->add_subcommand("reset-2fa", "Remove a user's second factor (authenticator app, recovery codes)");
  u2fa->add_option("--data-dir", data_dir, "Data directory")->required();
  u2fa->add_option("--username", username, "Username")->required();

  auto* backup = app.add_subcommand("backup", "Online, consistent snapshot of the database");
  backup->add_option("--data-dir", data_dir, "Data directory")->required();
  backup->add_option("--to", to, "Snapshot file to write")->required();
  auto* restore = app.add_subcommand("restore", "Restore a snapshot (service stopped)");
  restore->add_option("--data-dir", data_dir, "Data directory")->required();
  restore->add_option("--from", from, "Snapshot file")->required();
  auto* check = app.add_subcommand("check", "Integrity check (exit 0 ok, 1 damaged)");
  check->add_option("--data-dir", data_dir, "Data directory")->required();
  auto* version = app.add_subcommand("version", "Print the version");
  std::string socket_path, service;
  auto* authcheck = app.add_subcommand(
      "auth-check",
      "Check a password with the running service (for pam_exec expose_authtok): user from PAM_USER "
      "(else the first stdin line), password from stdin; exit 0 only when accepted");
  authcheck->add_option("--config", config_path, "TOML configuration file (for pam.socket)");
  authcheck->add_option("--socket", socket_path, "Unix socket of the running service (default: pam.socket)");
  authcheck->add_option("--service", service, "Service name when PAM_SERVICE is not set");
  int auth_timeout_s = 5;
  authcheck->add_option("--timeout", auth_timeout_s,
                        "Seconds to wait for the service's answer, connecting included (1-60, default 5); "
                        "then exit 1, so PAM goes on to the next module")
      ->check(CLI::Range(1, 60));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kOk : kUsage;
  }

  if (version->parsed()) {
    std::cout << "resetd " << RESETD_VERSION << " (schema " << storage::Store::binary_schema_version() << ")"
              << (test_hooks::compiled_in() ? " (test hooks)" : "") << "\n";
    return kOk;
  }

  if (authcheck->parsed()) return cmd_auth_check(config_path, socket_path, service, auth_timeout_s);

  Runtime rt;
  config::Overrides ov;
  if (!data_dir.empty()) ov.data_dir = data_dir;
  if (!listen.empty()) ov.listen = listen;
  ov.no_tls = no_tls;
  auto cfg = config::load(config_path, ov);  // set by serve and user add only
  if (!cfg) {
    std::cerr << "resetd: " << cfg.error().message << "\n";
    return kUsage;
  }
  rt.cfg = cfg.value();

#ifdef RESETD_DEV_WEB_DIR
  if (web_dir.empty()) web_dir = RESETD_DEV_WEB_DIR;
#endif
  if (serve->parsed()) return cmd_serve(rt, web_dir);
  if (init->parsed()) return cmd_init(rt, admin, email, pw_stdin);
  if (check->parsed()) return cmd_check(rt);
  if (backup->parsed()) return cmd_backup(rt, to);
  if (restore->parsed()) return cmd_restore(rt, from);

  // user ...
  if (!rt.open(false)) return kFail;
  if (ulist->parsed()) return cmd_user_list(rt);
  if (uadd->parsed() || ureset->parsed())
    return cmd_user_add_or_reset(rt, uadd->parsed(), accounts::NewUser{username, display_name, email, "", role, locale},
                                 pw_stdin);
  if (urole->parsed()) return cmd_user_set_role(rt, username, role);
  if (udis->parsed()) return cmd_user_disable(rt, username);
  if (u2fa->parsed()) return cmd_user_reset_2fa(rt, username);
  std::cerr << app.help();
  return kUsage;
}

}  // namespace resetd
