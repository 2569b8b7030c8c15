// resetd's commands: serve, init, user ..., backup, restore, check, version.
#include "cli.h"

#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "resetd/accounts/service.h"
#include "resetd/accounts/text.h"
#include "resetd/authsock/auth_socket.h"
#include "resetd/config/config.h"
#include "resetd/crypto/crypto.h"
#include "resetd/http/server.h"
#include "resetd/notify/outbox_worker.h"
#include "resetd/notify/relay.h"
#include "resetd/notify/relay_settings.h"
#include "resetd/directory/directory.h"
#include "resetd/notify/templates.h"
#include "resetd/storage/store.h"

namespace fs = std::filesystem;

namespace resetd {
namespace {

constexpr int kOk = 0, kFail = 1, kUsage = 2;

std::string read_stdin_password() {
  std::string line;
  std::getline(std::cin, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
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

// Everything a command needs from a data dir.
struct Runtime {
  config::Config cfg;
  SystemClock clock;
  std::unique_ptr<storage::Store> store;
  std::optional<crypto::SecretBox> box;
  std::unique_ptr<crypto::PasswordHasher> hasher;
  std::unique_ptr<accounts::AccountService> accounts;

  // Opens the data dir; creates it when `create`. `service`: the long-running
  // server, which trusts (and leaves) the clean-stop mark instead of running
  // the full quick_check at every start. Prints the problem and returns false
  // on failure.
  bool open(bool create, bool service = false) {
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
};

// Creates the first global admin. With an empty `password` one is generated
// and written to data_dir/initial-admin-password (0600); only its path is printed.
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

// Only letters, digits and . _ - of a PAM service name reach the audit.
std::string safe_service(const std::string& s) {
  std::string out;
  for (char c : s.substr(0, 32))
    out += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-') ? c : '_';
  return out.empty() ? "unknown" : out;
}

// One PAM password check: web sign-in rules, audited as client pam:<service>.
// The per-client limit counts per service and remote host (sshd's PAM_RHOST),
// so one noisy remote host does not throttle the console.
authsock::AuthReply check_pam_request(accounts::AccountService& acc, const authsock::AuthRequest& r) {
  const std::string client = "pam:" + safe_service(r.service);
  std::string rhost = r.rhost.substr(0, 64);
  for (auto& c : rhost)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != ':' && c != '-') c = '_';
  std::string detail = "uid " + std::to_string(r.peer_uid);
  if (!rhost.empty()) detail += ", rhost " + rhost;
  auto res = acc.check_service_password(r.username, r.password, client, client + "@" + rhost, detail);
  if (res) return {true, "", ""};
  return {false, res.error().code, res.error().message};
}

int cmd_serve(Runtime& rt, const std::string& web_dir) {
  // At most two malloc arenas, whatever the thread count (8 HTTP workers, the
  // outbox worker, ...): glibc would give each thread that allocates its own
  // (up to 8 × cores), each keeping freed memory. Requests are short and a
  // hash's 64 MiB is above malloc's mmap threshold (mapped per hash, not kept).
  mallopt(M_ARENA_MAX, 2);
  const config::Config& cfg = rt.cfg;
  const bool first_boot = !fs::exists(fs::path(cfg.data_dir) / "resetd.db");
  if (!rt.open(true, true)) return kFail;
  int64_t users = 0;
  rt.store->read([&](storage::Reader& r) { users = r.count_users(); });
  if (users == 0) {
    if (int rc = create_first_admin(rt, "admin", "", ""); rc != kOk) return rc;
  } else if (first_boot) {
    std::cout << "resetd: database created\n";
  }

  http::ServerOptions so;
  so.host = cfg.listen_host();
  so.port = cfg.listen_port();
  so.trusted_proxies = cfg.trusted_proxies;
  so.web_dir = web_dir;
  so.version = RESETD_VERSION;
  so.public_url = cfg.public_url;
  so.forward_auth.enabled = cfg.forward_auth_enabled;
  so.forward_auth.allowed_redirect_origins = cfg.allowed_redirect_origins;
  so.forward_auth.cookie_domain = cfg.cookie_domain;
  so.forward_auth.rules = cfg.forward_auth_rules;
  so.pam_enabled = cfg.pam_enabled;
  so.pam_socket = cfg.pam_socket;
  so.pam_group = cfg.pam_group;
  if (cfg.tls != "off") {
    so.tls = true;
    if (cfg.tls == "self-signed") {
      fs::path dir = fs::path(cfg.data_dir) / "tls";
      std::error_code ec;
      fs::create_directories(dir, ec);
      ::chmod(dir.c_str(), 0700);
      so.cert_file = (dir / "cert.pem").string();
      so.key_file = (dir / "key.pem").string();
      if (!fs::exists(so.cert_file) || !fs::exists(so.key_file)) {
        std::string err;
        if (!http::make_self_signed(so.cert_file, so.key_file, &err)) {
          std::cerr << "resetd: " << err << "\n";
          return kFail;
        }
        std::cout << "resetd: made a self-signed certificate in " << dir.string() << "\n";
      }
    } else {
      so.cert_file = cfg.cert_file;
      so.key_file = cfg.key_file;
    }
    so.tls_fingerprint = http::cert_fingerprint(so.cert_file);
    if (so.tls_fingerprint.empty()) {
      std::cerr << "resetd: tls: cannot read certificate " << so.cert_file << "\n";
      return kFail;
    }
    std::cout << "resetd: TLS certificate SHA-256 fingerprint " << so.tls_fingerprint << "\n";
  }

  // The file's relay is checked at start even when the database overrides it.
  auto file_relay = notify::make_relay(relay_config(cfg));
  if (!file_relay) {
    std::cerr << "resetd: relay: " << file_relay.error().message << "\n";
    return kUsage;
  }
  notify::RelaySettings relay_settings(*rt.store, *rt.box, relay_config(cfg));
  const notify::RelayConfig effective = relay_settings.current();
  auto relay = notify::make_relay(effective);
  std::shared_ptr<notify::Relay> shared_relay;
  if (relay) {
    std::cout << "resetd: relay " << relay.value()->describe() << "\n";
    shared_relay = std::move(relay.value());
  } else {
    // Saved by an older version under rules that have since tightened (e.g.
    // AUTH without TLS): start anyway so the admin can fix it in Settings;
    // messages wait in the outbox with "no relay configured" meanwhile.
    std::cerr << "resetd: relay (settings saved in the database) refused, mail waits until it is "
                 "fixed in Settings → Relay: "
              << relay.error().message << "\n";
  }
  notify::OutboxWorker worker(*rt.store, rt.clock, *rt.box, shared_relay, effective.from);
  rt.accounts->on_outbox_change([&worker] { worker.wake(); });

  http::ServerHooks hooks;
  hooks.relay_settings = &relay_settings;
  hooks.relay_changed = [&worker](std::shared_ptr<notify::Relay> r, const std::string& from) {
    std::cout << "resetd: relay changed to " << r->describe() << "\n" << std::flush;
    worker.set_relay(std::move(r), from);
  };
  hooks.data_dir = cfg.data_dir;
  http::ApiServer server(*rt.accounts, *rt.store, rt.clock, so, hooks);

  // Block the stop signals in every thread; the main thread waits for them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  // A file-size limit (ulimit -f) must surface as a failed write (507), not kill us.
  signal(SIGXFSZ, SIG_IGN);

  // [pam]: the socket `resetd auth-check` asks; off unless configured.
  std::unique_ptr<authsock::AuthSocketServer> pam_socket;
  if (cfg.pam_enabled) {
    authsock::AuthSocketOptions ao;
    ao.path = cfg.pam_socket;
    ao.group = cfg.pam_group;
    accounts::AccountService& acc = *rt.accounts;
    pam_socket = std::make_unique<authsock::AuthSocketServer>(ao, [&acc](const authsock::AuthRequest& r) {
      return check_pam_request(acc, r);
    });
    std::string perr;
    if (!pam_socket->start(&perr)) {
      std::cerr << "resetd: " << perr << "\n";
      return kFail;
    }
    std::cout << "resetd: PAM password checks on " << cfg.pam_socket << "\n";
  }
  if (cfg.forward_auth_enabled) std::cout << "resetd: forward auth on (GET /api/v1/auth/verify)\n";

  rt.accounts->sweep();
  worker.start();
  // Directory: finish or close what a crash interrupted, then mirror the users.
  std::atomic<bool> dir_sync_now{false};
  auto dir_sync = [&rt]() {
    try {
      if (!rt.accounts->directory_mode()) return;
      auto rep = rt.accounts->sync_directory("system", "");
      if (rep)
        std::cout << "resetd: directory sync: " << rep->total << " entries (" << rep->added
                  << " added, " << rep->updated << " updated, " << rep->removed << " removed) in "
                  << rep->ms << " ms\n" << std::flush;
      else
        std::cerr << "resetd: directory sync failed: " << rep.error().message << "\n";
      rt.accounts->resolve_intents();
    } catch (const std::exception& e) {
      std::cerr << "directory sync: " << e.what() << "\n";
    }
  };
  if (rt.accounts->directory_mode()) {
    auto d = rt.accounts->directory();
    std::cout << "resetd: directory " << d->kind() << " " << d->config().url << "\n";
    try {
      int n = rt.accounts->resolve_intents();
      if (n) std::cout << "resetd: resolved " << n << " interrupted directory write(s)\n";
    } catch (const std::exception& e) {
      std::cerr << "directory intents: " << e.what() << "\n";
    }
  }
  std::string err;
  if (!server.start(&err)) {
    std::cerr << "resetd: " << err << "\n";
    worker.stop();
    if (pam_socket) pam_socket->stop();
    return kFail;
  }
  std::cout << "resetd: listening on " << (so.tls ? "https://" : "http://") << so.host << ":"
            << server.bound_port() << "\n"
            << std::flush;
  // Starting (migrations, the integrity check, TLS and relay setup) freed
  // what it used; give those pages back instead of keeping them for later.
  malloc_trim(0);

  std::atomic<bool> stopping{false};
  // Test-only: RESETD_TEST_CLOCK_OFFSET_FILE names a file holding seconds to
  // add to both clocks, so integration tests can move time forward.
  const char* offset_file = std::getenv("RESETD_TEST_CLOCK_OFFSET_FILE");
  if (offset_file) std::cerr << "resetd: TEST CLOCK ENABLED (" << offset_file << ")\n";
  std::thread sweeper([&] {
    int64_t last_sweep = rt.clock.mono_ms(), last_reminders = last_sweep;
    int64_t last_dir_sync = 0;
    bool first_dir_sync = true;
    while (!stopping.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(offset_file ? 100 : 1000));
      if (offset_file) {
        std::ifstream in(offset_file);
        long long off = 0;
        if (in >> off && off != rt.clock.offset_seconds()) {
          rt.clock.set_offset_seconds(off);
          worker.wake();
        }
      }
      if (rt.accounts->directory_mode()) {
        const int64_t now = rt.clock.mono_ms();
        const int64_t every = int64_t{rt.accounts->directory()->config().sync_interval_min} * 60000;
        if (first_dir_sync || now - last_dir_sync >= every || dir_sync_now.exchange(false)) {
          first_dir_sync = false;
          last_dir_sync = now;
          dir_sync();
        }
      }
      try {
        const int64_t now = rt.clock.mono_ms();
        if (now - last_sweep >= 24LL * 3600 * 1000) {
          last_sweep = last_reminders = now;
          rt.accounts->sweep();  // includes the reminders
        } else if (now - last_reminders >= 3600LL * 1000) {
          last_reminders = now;
          rt.accounts->send_expiry_reminders();
        }
      } catch (const std::exception& e) {
        std::cerr << "sweep: " << e.what() << "\n";
      }
    }
  });
  int sig = 0;
  sigwait(&set, &sig);
  std::cout << "resetd: stopping\n" << std::flush;
  stopping = true;
  if (pam_socket) pam_socket->stop();
  server.stop();
  // The self-service thread wakes the worker (on_outbox_change): stop it while
  // the worker still exists, not in ~AccountService after the worker is gone.
  rt.accounts->stop_background();
  worker.stop();
  sweeper.join();
  return kOk;
}

// Opens an existing database without creating or migrating it (check,
// backup, restore): what is on disk is looked at, never changed.
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

// Reads stdin up to the first NUL or LF (pam_exec's expose_authtok ends the
// token with a NUL), at most `max` bytes; "\r" before LF dropped.
std::string read_token(size_t max) {
  std::string s;
  char c;
  while (s.size() <= max && std::cin.get(c)) {
    if (c == '\0' || c == '\n') break;
    s += c;
  }
  if (!s.empty() && s.back() == '\r') s.pop_back();
  return s;
}

// `resetd auth-check`: exit 0 accepted, 1 refused or service unreachable
// (message on stdout: pam_exec's `stdout` option shows it to the person),
// 2 usage.
int cmd_auth_check(const std::string& config_path, std::string socket_path, std::string service) {
  const char* type = std::getenv("PAM_TYPE");
  if (type && std::string(type) != "auth") {
    std::cout << "resetd auth-check only answers the auth stack (PAM_TYPE=" << type << ")\n";
    return kUsage;
  }
  if (socket_path.empty()) {
    auto cfg = config::load(config_path, {});
    if (!cfg) {
      std::cerr << "resetd: " << cfg.error().message << "\n";
      return kUsage;
    }
    socket_path = cfg->pam_socket;
  }
  authsock::AuthRequest r;
  if (const char* v = std::getenv("PAM_SERVICE")) service = v;
  r.service = service.empty() ? "unknown" : service;
  if (const char* v = std::getenv("PAM_RHOST")) r.rhost = v;
  if (const char* v = std::getenv("PAM_USER")) r.username = v;
  else r.username = read_token(256);
  r.password = read_token(4096);
  if (r.username.empty()) {
    std::cout << "resetd auth-check: no username (PAM_USER or the first line of stdin)\n";
    return kUsage;
  }
  if (r.password.size() > 4096) {
    std::cout << "The username or password is incorrect.\n";
    return kFail;
  }
  auto reply = authsock::ask(socket_path, r, 20000);
  explicit_bzero(r.password.data(), r.password.size());
  if (!reply) {
    std::cout << "resetd auth-check: " << reply.error().message << "\n";
    return kFail;
  }
  if (reply->ok) return kOk;
  std::cout << reply->message << "\n";
  return kFail;
}

}  // namespace

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

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kOk : kUsage;
  }

  if (version->parsed()) {
    std::cout << "resetd " << RESETD_VERSION << " (schema " << storage::Store::binary_schema_version() << ")\n";
    return kOk;
  }

  if (authcheck->parsed()) return cmd_auth_check(config_path, socket_path, service);

  Runtime rt;
  config::Overrides ov;
  if (!data_dir.empty()) ov.data_dir = data_dir;
  if (!listen.empty()) ov.listen = listen;
  ov.no_tls = no_tls;
  auto cfg = config::load(serve->parsed() ? config_path : std::string(), ov);
  if (!cfg) {
    std::cerr << "resetd: " << cfg.error().message << "\n";
    return kUsage;
  }
  rt.cfg = cfg.value();

#ifdef RESETD_DEV_WEB_DIR
  if (web_dir.empty()) web_dir = RESETD_DEV_WEB_DIR;
#endif
  if (serve->parsed()) return cmd_serve(rt, web_dir);
  if (init->parsed()) {
    if (fs::exists(fs::path(rt.cfg.data_dir) / "resetd.db")) {
      std::cerr << "resetd: " << rt.cfg.data_dir << " is already initialized\n";
      return kFail;
    }
    std::string pw;
    if (pw_stdin) {
      pw = read_stdin_password();
      if (pw.empty()) {
        std::cerr << "resetd: no password on standard input\n";
        return kUsage;
      }
    }
    if (!rt.open(true)) return kFail;
    return create_first_admin(rt, admin, email, pw);
  }
  if (check->parsed()) {
    try {
      auto st = open_as_is(rt.cfg.data_dir);
      std::string r = st->integrity_check();
      if (r != "ok") {
        std::cerr << "resetd: integrity check failed: " << r << "\n";
        return kFail;
      }
      std::cout << "ok (schema " << st->schema_version() << ")\n";
      return kOk;
    } catch (const storage::StorageError& e) {
      std::cerr << "resetd: " << e.what() << "\n";
      return kFail;
    }
  }
  if (backup->parsed()) {
    if (fs::exists(to)) {
      std::cerr << "resetd: " << to << " already exists\n";
      return kFail;
    }
    try {
      auto st = open_as_is(rt.cfg.data_dir);
      st->backup_to(to);
      std::cout << "backup written to " << to << " (the secret key is not included)\n";
      return kOk;
    } catch (const storage::StorageError& e) {
      std::cerr << "resetd: " << e.what() << "\n";
      return kFail;
    }
  }
  if (restore->parsed()) {
    if (!fs::exists(from)) {
      std::cerr << "resetd: no such file " << from << "\n";
      return kFail;
    }
    std::string err;
    if (!ensure_data_dir(rt.cfg.data_dir, &err)) {
      std::cerr << "resetd: " << err << "\n";
      return kFail;
    }
    // Check the snapshot in a scratch dir before it replaces anything.
    fs::path scratch = fs::path(rt.cfg.data_dir) / ".restore";
    std::error_code ec;
    fs::remove_all(scratch, ec);
    fs::create_directories(scratch);
    fs::copy_file(from, scratch / "resetd.db");
    try {
      auto st = open_as_is(scratch.string());
      if (st->integrity_check() != "ok") throw storage::StorageError(storage::StorageError::Kind::Corrupt, "snapshot is damaged");
    } catch (const storage::StorageError& e) {
      fs::remove_all(scratch, ec);
      std::cerr << "resetd: " << from << ": " << e.what() << "\n";
      return kFail;
    }
    fs::path db = fs::path(rt.cfg.data_dir) / "resetd.db";
    fs::remove(db.string() + "-wal", ec);
    fs::remove(db.string() + "-shm", ec);
    fs::rename(scratch / "resetd.db", db);
    fs::remove_all(scratch, ec);
    std::cout << "restored " << from << " into " << rt.cfg.data_dir << "\n";
    return kOk;
  }

  // user ...
  if (!rt.open(false)) return kFail;
  if (ulist->parsed()) {
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
  if (uadd->parsed() || ureset->parsed()) {
    std::string pw;
    if (pw_stdin) {
      pw = read_stdin_password();
      if (pw.empty()) {
        std::cerr << "resetd: no password on standard input\n";
        return kUsage;
      }
    }
    const bool generated = pw.empty();
    if (generated) pw = crypto::generate_password(16);
    if (uadd->parsed()) {
      accounts::NewUser nu{username, display_name, email, "", role, locale};
      auto r = rt.accounts->console_add_user(nu, pw);
      if (!r) return status_exit(r.error());
      std::cout << "user " << r->username << " added (must change the password at first sign-in)\n";
    } else {
      if (int rc = status_exit(rt.accounts->console_set_password(username, pw, true)); rc != kOk) return rc;
      std::cout << "password of " << accounts::ascii_lower(username) << " reset; lockout cleared; must be changed at next sign-in\n";
    }
    // Console = physical access: the operator sees the generated password once, here.
    if (generated) std::cout << "temporary password: " << pw << "\n";
    return kOk;
  }
  if (urole->parsed()) {
    int rc = status_exit(rt.accounts->console_set_role(username, role));
    if (rc == kOk) std::cout << "role of " << accounts::ascii_lower(username) << " is now " << role << "\n";
    return rc;
  }
  if (udis->parsed()) {
    int rc = status_exit(rt.accounts->console_disable(username));
    if (rc == kOk) std::cout << accounts::ascii_lower(username) << " disabled\n";
    return rc;
  }
  std::cerr << app.help();
  return kUsage;
}

}  // namespace resetd
