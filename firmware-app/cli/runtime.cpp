// The data dir opened as a runtime, and the helpers the commands share.
#include "runtime.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "resetd/authsock/os_accounts.h"
#include "resetd/directory/directory.h"
#include "resetd/notify/templates.h"

namespace fs = std::filesystem;

namespace resetd::cli {

std::string read_stdin_password() {
  std::string line;
  std::getline(std::cin, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

int password_from_stdin(bool password_stdin, std::string* pw) {
  pw->clear();
  if (!password_stdin) return kOk;
  *pw = read_stdin_password();
  if (!pw->empty()) return kOk;
  std::cerr << "resetd: no password on standard input\n";
  return kUsage;
}

std::string read_trimmed(const std::string& path) {
  if (path.empty()) return {};
  std::ifstream in(path, std::ios::binary);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

bool ensure_data_dir(const std::string& dir, std::string* err) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    *err = "cannot create data dir " + dir + ": " + ec.message();
    return false;
  }
  ::chmod(dir.c_str(), 0700);
  return true;
}

// Opens the data dir; creates it when `create`. `service`: the long-running
// server, which trusts (and leaves) the clean-stop mark instead of running
// the full quick_check at every start. Prints the problem and returns false
// on failure.
bool Runtime::open(bool create, bool service) {
  std::string err;
  if (!create && !fs::exists(fs::path(cfg.data_dir) / "resetd.db")) {
    std::cerr << "resetd: no database in " << cfg.data_dir << " (run 'resetd init' first)\n";
    return false;
  }
  if (create && !ensure_data_dir(cfg.data_dir, &err)) {
    std::cerr << "resetd: " << err << "\n";
    return false;
  }
  try {
    storage::OpenOptions o;
    o.trust_clean_stop = service;
    store = storage::Store::open(cfg.data_dir, o);
  } catch (const storage::StorageError& e) {
    std::cerr << "resetd: " << e.what() << "\n";
    return false;
  }
  if (cfg.audit_syslog) {
    auditlog::SyslogIdentity id;
    id.facility = auditlog::facility_code(cfg.audit_syslog_facility).value_or(4);
    id.app_name = cfg.audit_syslog_app_name;
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) == 0) id.hostname = host;
    id.pid = ::getpid();
    audit_syslog = std::make_unique<auditlog::SyslogSink>(cfg.audit_syslog_socket, id);
    store->set_audit_listener([sink = audit_syslog.get()](const storage::AuditRecord& a) { sink->send(a); });
  }
  box = crypto::SecretBox::load_or_create((fs::path(cfg.data_dir) / "secret.key").string(), &err);
  if (!box) {
    std::cerr << "resetd: " << err << "\n";
    return false;
  }
  hasher = std::make_unique<crypto::PasswordHasher>(static_cast<unsigned>(cfg.opslimit),
                                                    static_cast<unsigned>(cfg.memlimit_mib),
                                                    static_cast<unsigned>(cfg.max_concurrent));
  accounts::AccountSettings as;
  as.temp_password_ttl_h = cfg.temp_password_ttl_h;
  as.link_ttl_min = cfg.link_ttl_min;
  as.public_url = cfg.public_url;
  as.default_locale = cfg.default_locale;
  as.data_dir = cfg.data_dir;
  for (const auto& [role, policy] : cfg.caller_verification)
    if (auto p = accounts::parse_caller_policy(policy)) as.caller_policy[role] = *p;  // validated at load
  if (cfg.second_factor_enabled) {
    as.second_factor = accounts::SecondFactorPolicy::site_default();
    for (const auto& [role, rule] : cfg.second_factor_roles)  // validated by config
      if (auto r = accounts::parse_role(role); r)
        if (auto f = accounts::parse_factor_rule(rule); f) as.second_factor.set(*r, *f);
  }
  if (cfg.pam_enabled) {
    // PAM hands resetd's answer to the OS: its own accounts stay its own.
    authsock::OsAccountRules rules{authsock::read_uid_min(), cfg.pam_allow_system_accounts,
                                   authsock::read_uid_max()};
    as.os_reserved = [rules](const std::string& name) { return authsock::os_reserved(name, rules); };
  }
  accounts = std::make_unique<accounts::AccountService>(
      *store, clock, *hasher, *box,
      [](const std::string& kind, const std::string& locale,
         const std::map<std::string, std::string>& vars) {
        auto r = notify::render(kind, locale, vars);
        return std::make_pair(r.subject, r.body);
      },
      as);
  accounts->set_directory_file_config(cfg.directory);
  accounts->set_directory(directory::make(accounts->directory_config()));
  return true;
}

void Runtime::close() {
  accounts.reset();
  hasher.reset();
  box.reset();
  store.reset();
  audit_syslog.reset();
}

bool Runtime::lock_data_dir(const std::string& command) {
  std::string err;
  if (!ensure_data_dir(cfg.data_dir, &err) || !lock.acquire(cfg.data_dir, command, &err)) {
    std::cerr << "resetd: " << err << "\n";
    return false;
  }
  return true;
}

int create_first_admin(Runtime& rt, const std::string& username, const std::string& email,
                       std::string password) {
  const bool generated = password.empty();
  if (generated) password = crypto::generate_password(20);
  accounts::NewUser nu;
  nu.username = username;
  nu.email = email;
  nu.display_name = "Administrator";
  nu.role = "global_admin";
  auto r = rt.accounts->console_add_user(nu, password);
  if (!r) {
    std::cerr << "resetd: " << r.error().message << "\n";
    return r.error().code == "invalid_username" || r.error().field == "password" ? kUsage : kFail;
  }
  if (generated) {
    const std::string path = (fs::path(rt.cfg.data_dir) / "initial-admin-password").string();
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    std::string line = password + "\n";
    if (fd < 0 || ::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()) || ::fsync(fd) != 0) {
      if (fd >= 0) ::close(fd);
      std::cerr << "resetd: cannot write " << path << "\n";
      return kFail;
    }
    ::close(fd);
    std::cout << "Initial admin '" << r->username << "' created; its password is in " << path
              << " (must be changed at first sign-in)\n";
  } else {
    std::cout << "Initial admin '" << r->username << "' created (must change the password at first sign-in)\n";
  }
  return kOk;
}

notify::RelayConfig relay_config(const config::Config& c) {
  notify::RelayConfig r;
  r.kind = c.relay_kind;
  r.host = c.relay_host;
  r.port = c.relay_port;
  r.security = c.relay_security;
  r.username = c.relay_username;
  r.password = read_trimmed(c.relay_password_file);
  r.from = c.relay_from;
  r.ca_file = c.relay_ca_file;
  r.timeout_s = c.relay_timeout_s;
  r.url = c.relay_url;
  r.secret = read_trimmed(c.relay_secret_file);
  r.mail_dir = (fs::path(c.data_dir) / "mail").string();
  return r;
}

std::unique_ptr<storage::Store> open_as_is(const std::string& dir) {
  storage::OpenOptions o;
  o.create = false;
  o.migrate = false;
  return storage::Store::open(dir, o);
}

void print_error(const Error& e) { std::cerr << "resetd: " << e.message << " (" << e.code << ")\n"; }

int status_exit(const Status& s) {
  if (s) return kOk;
  print_error(s.error());
  const std::string& c = s.error().code;
  return (c.rfind("invalid_", 0) == 0 || c.rfind("password_", 0) == 0) ? kUsage : kFail;
}

}  // namespace resetd::cli
