// What the commands share: exit codes, the data dir opened as a runtime, and
// the one helper each command needs from another (the first admin, the relay's
// file config, an error printed as the CLI prints it).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "data_dir_lock.h"
#include "resetd/accounts/service.h"
#include "resetd/auditlog/syslog.h"
#include "resetd/common/clock.h"
#include "resetd/common/result.h"
#include "resetd/config/config.h"
#include "resetd/crypto/crypto.h"
#include "resetd/notify/relay.h"
#include "resetd/storage/store.h"

namespace resetd::cli {

constexpr int kOk = 0, kFail = 1, kUsage = 2;

// One line of standard input, without its line end.
std::string read_stdin_password();
// With --password-stdin: the password from standard input into *pw, kOk, or
// kUsage (said on stderr) when there is none; without it: kOk, *pw empty.
int password_from_stdin(bool password_stdin, std::string* pw);
// A file's contents without surrounding white space ("" for an empty path).
std::string read_trimmed(const std::string& path);
// Creates `dir` (0700) when missing.
bool ensure_data_dir(const std::string& dir, std::string* err);

// Everything a command needs from a data dir.
struct Runtime {
  // Declared first: released last, after the database is closed.
  DataDirLock lock;
  config::Config cfg;
  SystemClock clock;
  // [audit] syslog: told by the store of each committed audit row, so it outlives it.
  std::unique_ptr<auditlog::SyslogSink> audit_syslog;
  std::unique_ptr<storage::Store> store;
  std::optional<crypto::SecretBox> box;
  std::unique_ptr<crypto::PasswordHasher> hasher;
  std::unique_ptr<accounts::AccountService> accounts;

  // Opens the data dir; creates it when `create`. `service`: the long-running
  // server, which trusts (and leaves) the clean-stop mark instead of running
  // the full quick_check at every start. Prints the problem and returns false
  // on failure.
  bool open(bool create, bool service = false);
  // Closes what open() opened (the database last).
  void close();
  // Creates the data dir when missing and takes its lock for `command`
  // (data_dir_lock.h). Prints the refusal and returns false when it is in use.
  bool lock_data_dir(const std::string& command);
};

// Creates the first global admin. With an empty `password` one is generated
// and written to data_dir/initial-admin-password (0600); only its path is printed.
int create_first_admin(Runtime& rt, const std::string& username, const std::string& email,
                       std::string password);

// The relay of the config file (secrets read from their files).
notify::RelayConfig relay_config(const config::Config& c);

// Opens an existing database without creating or migrating it (check,
// backup, restore): what is on disk is looked at, never changed.
std::unique_ptr<storage::Store> open_as_is(const std::string& dir);

void print_error(const Error& e);
// 0 for ok; 2 for a refused value (invalid_*, password_*), else 1; prints the error.
int status_exit(const Status& s);

}  // namespace resetd::cli
