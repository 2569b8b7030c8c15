// Config: the TOML file of spec §3 with its defaults, plus the flags that
// override it. Loading validates every value; a bad one is an Error whose
// message names the key, the value and what is allowed. Plain data.
#pragma once

#include <map>
#include <optional>
#include <utility>
#include <string>
#include <vector>

#include "resetd/common/result.h"
#include "resetd/directory/directory.h"

namespace resetd::config {

struct Config {
  // [server]
  std::string listen = "127.0.0.1:8443";
  std::string tls = "self-signed";  // self-signed | files | off
  std::string cert_file;
  std::string key_file;
  std::string public_url;
  std::vector<std::string> trusted_proxies;
  // After answering on a kept-alive connection, a worker waits this long for
  // the connection's next request itself before handing it back (0: never).
  int keep_alive_hold_ms = 3;
  // [storage]
  std::string data_dir = "/var/lib/resetd";
  // [relay]
  std::string relay_kind = "file";
  std::string relay_host = "127.0.0.1";
  int relay_port = 25;
  std::string relay_security = "none";
  std::string relay_username;
  std::string relay_password_file;
  std::string relay_from = "IT Helpdesk <it-helpdesk@appliance.local>";
  std::string relay_ca_file;
  int relay_timeout_s = 20;
  std::string relay_url;
  std::string relay_secret_file;
  // [hashing]
  int opslimit = 2;
  int memlimit_mib = 64;
  int max_concurrent = 2;
  // [accounts]
  int temp_password_ttl_h = 72;
  int link_ttl_min = 60;
  // [ui]
  std::string default_locale = "en";
  // [forward_auth] — sign-in for other web apps behind a reverse proxy (off by default)
  bool forward_auth_enabled = false;
  std::vector<std::string> allowed_redirect_origins;  // "https://app.example" (scheme://host[:port])
  std::string cookie_domain;                          // empty = host-only cookie
  // rules: "host" = [roles] — who may enter which host (names, no port); once any
  // rule exists a host without one gets the "*" rule, or nobody when there is none
  std::vector<std::pair<std::string, std::vector<std::string>>> forward_auth_rules;
  // hosts (rule keys, "*" = every host) that want two factors: a session
  // signed in with the password alone is refused there
  std::vector<std::string> forward_auth_two_factor;
  // [second_factor] — staff's authenticator app: off / optional / required per
  // role. enabled = false: optional for every role; enabled = true: required
  // for global_admin and optional for the others, unless a role's key says otherwise.
  bool second_factor_enabled = false;
  std::vector<std::pair<std::string, std::string>> second_factor_roles;  // role -> off|optional|required
  // [pam] — `resetd auth-check` asking the service over a local Unix socket (off by default)
  bool pam_enabled = false;
  std::string pam_socket = "/run/resetd/auth.sock";
  std::string pam_group;  // group owning the socket (mode 0660); empty = the service's own group
  // system accounts (uid < UID_MIN of /etc/login.defs) resetd may still vouch
  // for; uid 0 and nobody never. Lower-case OS user names.
  std::vector<std::string> pam_allow_system_accounts;
  // [audit] — each audit row also sent to the local syslog as RFC 5424 (off by default)
  bool audit_syslog = false;
  std::string audit_syslog_facility = "auth";  // auth | authpriv | daemon | user | local0..local7
  std::string audit_syslog_app_name = "resetd";
  std::string audit_syslog_socket = "/dev/log";  // a Unix datagram socket
  // [caller_verification]: admin role -> "off" | "optional" | "required";
  // a role not named is "optional" (docs/caller-verification.md)
  std::map<std::string, std::string> caller_verification;
  // [directory] and [directory.roles]; bind_password may come from
  // directory.bind_password_file (read at load) instead of the file itself.
  directory::Config directory;
  std::string directory_bind_password_file;

  // host and port of `listen`
  std::string listen_host() const;
  int listen_port() const;
};

struct Overrides {
  std::optional<std::string> data_dir;
  std::optional<std::string> listen;
  bool no_tls = false;
};

constexpr const char* kDefaultConfigPath = "/etc/resetd/resetd.toml";

// Reads `path` (when empty: kDefaultConfigPath if it exists, else defaults
// only), applies the overrides, validates.
Result<Config> load(const std::string& path, const Overrides& o);

// Parses TOML text (for tests); `origin` names it in errors.
Result<Config> parse(const std::string& toml_text, const std::string& origin);

// Validates a finished Config.
Status validate(const Config& c);

// Splits "host:port" / "[v6]:port"; false when malformed.
bool split_host_port(const std::string& s, std::string* host, int* port);

}  // namespace resetd::config
