// ApiServer: the HTTPS (or plain HTTP) edge: JSON API of spec §7 and the
// embedded web UI. The only module that includes httplib. Owns its listening
// thread; start() returns once the socket is bound. Thread-safe for stop().
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "resetd/accounts/forward_auth.h"
#include "resetd/accounts/service.h"
#include "resetd/common/clock.h"
#include "resetd/notify/relay_settings.h"
#include "resetd/storage/store.h"

namespace resetd::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8443;
  bool tls = false;
  std::string cert_file;  // PEM
  std::string key_file;   // PEM
  std::vector<std::string> trusted_proxies;
  std::string web_dir;  // non-empty: serve the UI from disk (development)
  std::string version;
  std::string tls_fingerprint;  // shown by /healthz for staff to compare
  int threads = 8;
  std::chrono::milliseconds keep_alive_hold{3};  // config server.keep_alive_hold_ms (EdgeLimits::hold)
  std::string public_url;  // where the proxy sends browsers to sign in (forward auth); its origin is the one Origin accepted
  accounts::ForwardAuthSettings forward_auth;
  // [pam], only shown on the settings page (the socket lives in authsock/)
  bool pam_enabled = false;
  std::string pam_socket;
  std::string pam_group;
};

// What the server needs from the rest of the program.
struct ServerHooks {
  notify::RelaySettings* relay_settings = nullptr;
  // A relay change was saved: the outbox worker uses it from now on.
  std::function<void(std::shared_ptr<notify::Relay>, const std::string& from)> relay_changed;
  std::string data_dir;  // for backup snapshots
  // Called from the serving loop about every 100 ms while it accepts, reads
  // and hands requests to workers that take them (none wedged); silent when
  // it does not. For systemd's watchdog (WatchdogSec=).
  std::function<void()> heartbeat;
};

class ApiServer {
 public:
  ApiServer(accounts::AccountService& accounts, storage::Store& store, const Clock& clock,
            ServerOptions opts, ServerHooks hooks);
  ~ApiServer();
  // Binds and starts serving on a background thread; false + error on failure.
  bool start(std::string* error);
  void stop();
  int bound_port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Self-signed ECDSA P-256 certificate, valid 10 years, SANs: host name,
// localhost, and every local IP address. Writes cert/key PEM (key 0600).
bool make_self_signed(const std::string& cert_path, const std::string& key_path,
                      std::string* error);
// "AB:CD:..." SHA-256 fingerprint of a PEM certificate file; empty on error.
std::string cert_fingerprint(const std::string& cert_path);

}  // namespace resetd::http
