// `resetd serve`: the service, its PAM socket and its background threads.
#include <malloc.h>
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "commands.h"
#include "systemd_notify.h"
#include "resetd/authsock/auth_socket.h"
#include "resetd/common/test_hooks.h"
#include "resetd/directory/directory.h"
#include "resetd/http/server.h"
#include "resetd/notify/outbox_worker.h"
#include "resetd/notify/relay_settings.h"

namespace fs = std::filesystem;

namespace resetd::cli {
namespace {

// Only letters, digits and . _ - of a PAM service name reach the audit.
std::string safe_service(const std::string& s) {
  std::string out;
  for (char c : s.substr(0, 32))
    out += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-') ? c : '_';
  return out.empty() ? "unknown" : out;
}

// What the caller says about itself (PAM_RHOST, PAM_TTY, PAM_RUSER, its uid),
// cut to 64 bytes of letters, digits and . : - / _ @ (anything else '_').
std::string safe_field(const std::string& s) {
  std::string out = s.substr(0, 64);
  for (auto& c : out)
    if (!std::isalnum(static_cast<unsigned char>(c)) && (c == '\0' || !std::strchr(".:-/_@", c))) c = '_';
  return out;
}

// One PAM password check: web sign-in rules, audited as client pam:<service>
// with who asked (the caller's uid and the socket peer's, PAM_RUSER, PAM_TTY,
// PAM_RHOST). The per-client limit counts per service and remote host (sshd's
// PAM_RHOST); without one (login, su, sudo, a screen lock) per service, tty
// and caller uid, so one person's failures do not throttle everyone else's.
authsock::AuthReply check_pam_request(accounts::AccountService& acc, const authsock::AuthRequest& r) {
  const std::string client = "pam:" + safe_service(r.service);
  const std::string rhost = safe_field(r.rhost), tty = safe_field(r.tty), ruser = safe_field(r.ruser),
                    uid = safe_field(r.uid), peer = std::to_string(r.peer_uid);
  std::string detail = "uid " + (uid.empty() ? "?" : uid) + " (peer " + peer + ")";
  if (!ruser.empty()) detail += ", ruser " + ruser;
  if (!tty.empty()) detail += ", tty " + tty;
  if (!rhost.empty()) detail += ", rhost " + rhost;
  const std::string bucket =
      client + "@" + (!rhost.empty() ? rhost : "tty:" + tty + ",uid:" + uid + ",peer:" + peer);
  auto res = acc.check_service_password(r.username, r.password, client, bucket, detail);
  if (res) return {true, "", ""};
  return {false, res.error().code, res.error().message};
}

}  // namespace

int cmd_serve(Runtime& rt, const std::string& web_dir) {
  // At most two malloc arenas, whatever the thread count (8 HTTP workers, the
  // outbox worker, ...): glibc would give each thread that allocates its own
  // (up to 8 × cores), each keeping freed memory. Requests are short and a
  // hash's 64 MiB is above malloc's mmap threshold (mapped per hash, not kept).
  mallopt(M_ARENA_MAX, 2);
  test_hooks::announce();
  const config::Config& cfg = rt.cfg;
  // Type=notify (resetd.service): READY=1 once the API listens; the watchdog
  // is pinged by the serving loop itself, so a wedged service is restarted.
  SystemdNotifier systemd;
  systemd.send("STATUS=opening the database (migrations, integrity check)");
  if (!rt.lock_data_dir("serve")) return kFail;
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
  so.keep_alive_hold = std::chrono::milliseconds(cfg.keep_alive_hold_ms);
  so.web_dir = web_dir;
  so.version = RESETD_VERSION;
  so.public_url = cfg.public_url;
  so.forward_auth.enabled = cfg.forward_auth_enabled;
  so.forward_auth.allowed_redirect_origins = cfg.allowed_redirect_origins;
  so.forward_auth.cookie_domain = cfg.cookie_domain;
  so.forward_auth.rules = cfg.forward_auth_rules;
  so.forward_auth.two_factor_hosts = cfg.forward_auth_two_factor;
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
  hooks.heartbeat = [&systemd] { systemd.watchdog_kick(); };
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
      rt.accounts->expire_directory_temp_passwords();
    } catch (const std::exception& e) {
      std::cerr << "directory sync: " << e.what() << "\n";
    }
  };
  // Open intents are settled by the background thread below, after the
  // server listens: a slow or hung directory never delays start (spec §13).
  auto settle = [&rt]() {
    try {
      int n = rt.accounts->resolve_intents();
      if (n) std::cout << "resetd: resolved " << n << " interrupted directory write(s)\n" << std::flush;
    } catch (const std::exception& e) {
      std::cerr << "directory intents: " << e.what() << "\n";
    }
  };
  if (rt.accounts->directory_mode()) {
    auto d = rt.accounts->directory();
    std::cout << "resetd: directory " << d->kind() << " " << d->config().url << "\n";
  }
  std::string err;
  if (!server.start(&err)) {
    std::cerr << "resetd: " << err << "\n";
    worker.stop();
    if (pam_socket) pam_socket->stop();
    return kFail;
  }
  const std::string where =
      std::string(so.tls ? "https://" : "http://") + so.host + ":" + std::to_string(server.bound_port());
  std::cout << "resetd: listening on " << where << "\n" << std::flush;
  systemd.send("READY=1\nSTATUS=listening on " + where);
  // Starting (migrations, the integrity check, TLS and relay setup) freed
  // what it used; give those pages back instead of keeping them for later.
  malloc_trim(0);

  std::atomic<bool> stopping{false};
  // Test builds only (test_hooks.h): a file holding seconds to add to both
  // clocks, so integration tests can move time forward; nullptr otherwise.
  const char* offset_file = test_hooks::clock_offset_file();
  std::thread sweeper([&] {
    int64_t last_sweep = rt.clock.mono_ms(), last_reminders = last_sweep;
    int64_t last_dir_sync = 0;
    bool first_dir_sync = true;
    // Open intents (a write of unknown outcome, one not recorded for a full
    // disk, one the directory could not be asked about) are tried again
    // every 2 s, backing off to 60 s while none settles; a new one starts over.
    int64_t last_settle = 0, settle_every = 2000;
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
        if (first_dir_sync) settle();  // what a crash left, before the first sync
        const bool asked = rt.accounts->take_settle_request();
        if (asked) settle_every = 2000;
        try {
          if (!first_dir_sync && now - last_settle >= settle_every && rt.accounts->open_intent_count() > 0) {
            last_settle = now;
            const int64_t before = rt.accounts->open_intent_count();
            settle();
            settle_every = rt.accounts->open_intent_count() < before ? 2000
                                                                     : std::min<int64_t>(60000, settle_every * 2);
          }
        } catch (const std::exception& e) {
          std::cerr << "directory intents: " << e.what() << "\n";
        }
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
  systemd.send("STOPPING=1\nSTATUS=stopping");
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

}  // namespace resetd::cli
