#include "resetd/config/config.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <toml++/toml.h>

namespace resetd::config {
namespace {

Error bad(const std::string& key, const std::string& value, const std::string& allowed) {
  return make_error("invalid_config",
                    "config: " + key + " = " + value + " is not allowed; expected " + allowed, key);
}

template <typename T>
std::string show(const T& v) {
  std::ostringstream s;
  if constexpr (std::is_base_of_v<toml::node, T>)
    v.visit([&](auto&& x) { s << x; });
  else
    s << v;
  return s.str();
}

// Reads one key of a table into `out` when present; a wrong type is an error.
template <typename T>
std::optional<Error> get(const toml::table& t, const std::string& section, const char* key,
                         T& out) {
  const toml::node* n = t.get(key);
  if (!n) return std::nullopt;
  const std::string full = section + "." + key;
  if constexpr (std::is_same_v<T, std::string>) {
    if (auto v = n->value<std::string>()) {
      out = *v;
      return std::nullopt;
    }
    return bad(full, show(*n), "a string");
  } else if constexpr (std::is_same_v<T, bool>) {
    if (auto v = n->value<bool>()) {
      out = *v;
      return std::nullopt;
    }
    return bad(full, show(*n), "true or false");
  } else if constexpr (std::is_same_v<T, int>) {
    // as_integer(), not value<int64_t>(): the latter converts floats, and one
    // outside int64's range (2e58) is undefined behaviour (found by fuzz_config).
    if (const toml::value<int64_t>* iv = n->as_integer()) {
      const int64_t v = iv->get();
      if (v < -1000000000 || v > 1000000000) return bad(full, show(v), "a smaller integer");
      out = static_cast<int>(v);
      return std::nullopt;
    }
    return bad(full, show(*n), "an integer");
  } else {
    if (const toml::array* a = n->as_array()) {
      out.clear();
      for (const auto& e : *a) {
        auto v = e.value<std::string>();
        if (!v) return bad(full, show(*n), "an array of strings");
        out.push_back(*v);
      }
      return std::nullopt;
    }
    return bad(full, show(*n), "an array of strings");
  }
}

Status range(const std::string& key, int v, int lo, int hi) {
  if (v < lo || v > hi) return bad(key, std::to_string(v), std::to_string(lo) + "–" + std::to_string(hi));
  return ok_status();
}

Status one_of(const std::string& key, const std::string& v, std::initializer_list<const char*> allowed) {
  std::string list;
  for (const char* a : allowed) {
    if (v == a) return ok_status();
    list += std::string(list.empty() ? "" : " | ") + "\"" + a + "\"";
  }
  return bad(key, "\"" + v + "\"", "one of " + list);
}

// scheme://host[:port] with nothing after it, lower case.
bool is_origin(const std::string& o) {
  std::string rest;
  if (o.rfind("https://", 0) == 0) rest = o.substr(8);
  else if (o.rfind("http://", 0) == 0) rest = o.substr(7);
  else return false;
  if (rest.empty()) return false;
  return rest.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789.-:[]") == std::string::npos;
}

// A [forward_auth.rules] key: "*", a lower-case host name (letters, digits,
// '-', dot-separated non-empty labels) or a bracketed IPv6 literal; no port.
bool is_rule_host(const std::string& h) {
  if (h == "*") return true;
  if (h.size() > 2 && h.front() == '[' && h.back() == ']')
    return h.find_first_not_of("0123456789abcdef:.", 1) == h.size() - 1;
  if (h.empty() || h.size() > 253 || h.front() == '.' || h.back() == '.' || h.find("..") != std::string::npos)
    return false;
  return h.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789.-") == std::string::npos;
}

}  // namespace

bool split_host_port(const std::string& s, std::string* host, int* port) {
  std::string h, p;
  if (!s.empty() && s[0] == '[') {
    auto close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':') return false;
    h = s.substr(1, close - 1);
    p = s.substr(close + 2);
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string::npos || colon == 0) return false;
    h = s.substr(0, colon);
    p = s.substr(colon + 1);
    if (h.find(':') != std::string::npos) return false;
  }
  if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos) return false;
  int n = std::stoi(p);
  if (n < 1 || n > 65535) return false;
  *host = h;
  *port = n;
  return true;
}

std::string Config::listen_host() const {
  std::string h;
  int p = 0;
  split_host_port(listen, &h, &p);
  return h;
}
int Config::listen_port() const {
  std::string h;
  int p = 0;
  split_host_port(listen, &h, &p);
  return p;
}

Status validate(const Config& c) {
  std::string h;
  int p = 0;
  if (!split_host_port(c.listen, &h, &p))
    return bad("server.listen", "\"" + c.listen + "\"", "HOST:PORT with a port 1–65535");
  if (auto s = one_of("server.tls", c.tls, {"self-signed", "files", "off"}); !s) return s;
  if (c.tls == "files" && (c.cert_file.empty() || c.key_file.empty()))
    return bad("server.cert_file", "\"" + c.cert_file + "\"",
               "cert_file and key_file both set when tls = \"files\"");
  if (!c.public_url.empty() && c.public_url.rfind("https://", 0) != 0 &&
      c.public_url.rfind("http://", 0) != 0)
    return bad("server.public_url", "\"" + c.public_url + "\"", "an http:// or https:// URL");
  for (const auto& tp : c.trusted_proxies)
    if (tp.empty() || tp.find_first_not_of("0123456789abcdefABCDEF.:") != std::string::npos)
      return bad("server.trusted_proxies", "\"" + tp + "\"", "IP addresses");
  if (auto s = range("server.keep_alive_hold_ms", c.keep_alive_hold_ms, 0, 50); !s) return s;
  if (c.data_dir.empty()) return bad("storage.data_dir", "\"\"", "a directory path");
  if (auto s = one_of("relay.kind", c.relay_kind, {"smtp", "webhook", "file"}); !s) return s;
  if (auto s = one_of("relay.security", c.relay_security, {"none", "starttls", "tls"}); !s) return s;
  if (auto s = range("relay.port", c.relay_port, 1, 65535); !s) return s;
  if (auto s = range("relay.timeout_s", c.relay_timeout_s, 1, 300); !s) return s;
  if (c.relay_kind == "webhook" && c.relay_url.rfind("http://", 0) != 0 &&
      c.relay_url.rfind("https://", 0) != 0)
    return bad("relay.url", "\"" + c.relay_url + "\"", "an http:// or https:// URL when kind = \"webhook\"");
  if (c.relay_kind == "smtp" && c.relay_host.empty())
    return bad("relay.host", "\"\"", "a host name or address");
  if (auto s = range("hashing.opslimit", c.opslimit, 1, 10); !s) return s;
  if (auto s = range("hashing.memlimit_mib", c.memlimit_mib, 8, 1024); !s) return s;
  if (auto s = range("hashing.max_concurrent", c.max_concurrent, 1, 16); !s) return s;
  if (auto s = range("accounts.temp_password_ttl_h", c.temp_password_ttl_h, 1, 24 * 90); !s) return s;
  if (auto s = range("accounts.link_ttl_min", c.link_ttl_min, 5, 24 * 60 * 7); !s) return s;
  if (auto s = one_of("ui.default_locale", c.default_locale, {"en", "zh-TW", "tr-TR"}); !s) return s;
  for (const auto& o : c.allowed_redirect_origins)
    if (!is_origin(o))
      return bad("forward_auth.allowed_redirect_origins", "\"" + o + "\"",
                 "origins like \"https://app.example\" (scheme://host[:port], nothing after)");
  if (!c.cookie_domain.empty() &&
      (c.cookie_domain.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789.-") != std::string::npos ||
       c.cookie_domain.front() == '.' || c.cookie_domain.back() == '.' ||
       c.cookie_domain.find('.') == std::string::npos))
    return bad("forward_auth.cookie_domain", "\"" + c.cookie_domain + "\"",
               "a lower-case parent domain like \"appliance.example\" (empty = host-only cookie)");
  static const std::set<std::string> kRoles = {"user", "helpdesk_admin", "password_admin", "user_admin",
                                               "global_admin"};
  for (const auto& [host, roles] : c.forward_auth_rules) {
    if (!is_rule_host(host))
      return bad("forward_auth.rules", "\"" + host + "\"",
                 "lower-case host names without a port (\"wiki.example\", \"[::1]\") or \"*\" "
                 "(the default for hosts without a rule) as keys");
    for (const auto& r : roles)
      if (!kRoles.count(r))
        return bad("forward_auth.rules." + host, "\"" + r + "\"",
                   "roles among user, helpdesk_admin, password_admin, user_admin, global_admin");
  }
  for (const auto& tf : c.forward_auth_two_factor)
    if (!is_rule_host(tf))
      return bad("forward_auth.two_factor", "\"" + tf + "\"",
                 "lower-case host names without a port (\"wiki.example\", \"[::1]\") or \"*\" (every host)");
  for (const auto& [role, rule] : c.second_factor_roles) {
    if (rule != "off" && rule != "optional" && rule != "required")
      return bad("second_factor." + role, "\"" + rule + "\"", "off, optional or required");
    // A role's rule without enabled = true would silently do nothing.
    if (!c.second_factor_enabled)
      return bad("second_factor." + role, "\"" + rule + "\"",
                 "nothing while second_factor.enabled is false: set enabled = true for per-role rules");
  }
  if (c.pam_socket.empty() || c.pam_socket.front() != '/' || c.pam_socket.size() > 100)
    return bad("pam.socket", "\"" + c.pam_socket + "\"", "an absolute path of at most 100 bytes");
  if (!c.pam_group.empty() &&
      c.pam_group.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != std::string::npos)
    return bad("pam.group", "\"" + c.pam_group + "\"", "a group name");
  for (const auto& n : c.pam_allow_system_accounts)
    if (n.empty() || n.size() > 32 || n == "root" || n == "nobody" ||
        n.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789._-") != std::string::npos || n[0] == '-')
      return bad("pam.allow_system_accounts", "\"" + n + "\"",
                 "lower-case OS user names (a-z 0-9 . _ -, at most 32) other than root and nobody");
  if (auto s = one_of("audit.syslog_facility", c.audit_syslog_facility,
                      {"auth", "authpriv", "daemon", "user", "local0", "local1", "local2", "local3",
                       "local4", "local5", "local6", "local7"});
      !s)
    return s;
  if (c.audit_syslog_app_name.empty() || c.audit_syslog_app_name.size() > 48 ||
      std::any_of(c.audit_syslog_app_name.begin(), c.audit_syslog_app_name.end(),
                  [](char ch) { return ch < 33 || ch > 126; }))
    return bad("audit.syslog_app_name", "\"" + c.audit_syslog_app_name + "\"",
               "1–48 printable ASCII characters without spaces (RFC 5424 APP-NAME)");
  if (c.audit_syslog_socket.empty() || c.audit_syslog_socket.front() != '/' || c.audit_syslog_socket.size() > 107)
    return bad("audit.syslog_socket", "\"" + c.audit_syslog_socket + "\"",
               "an absolute path of at most 107 bytes (a Unix datagram socket)");
  if (auto s = directory::validate(c.directory); !s) return s;
  return ok_status();
}

Result<Config> parse(const std::string& text, const std::string& origin) {
  Config c;
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    std::ostringstream m;
    m << "config: " << origin << ":" << e.source().begin.line << ": " << e.description();
    return make_error("invalid_config", m.str());
  }
  static const std::set<std::string> kSections = {"server",       "storage", "relay", "hashing",   "accounts",
                                                  "ui",           "forward_auth", "pam", "directory", "audit",
                                                  "caller_verification", "second_factor"};
  for (const auto& [k, v] : root)
    if (!kSections.count(std::string(k.str())))
      return bad(std::string(k.str()), "…",
                 "one of the sections server, storage, relay, hashing, accounts, ui, forward_auth, pam, "
                 "directory, audit, caller_verification, second_factor");
  auto section = [&](const char* name) -> const toml::table* {
    return root.get_as<toml::table>(name);
  };
  std::optional<Error> e;
  auto take = [&](const char* sec, auto&&... pairs) {
    const toml::table* t = section(sec);
    if (!t) return;
    ((e = e ? e : get(*t, sec, pairs.first, pairs.second)), ...);
  };
  using std::pair;
  take("server", pair<const char*, std::string&>{"listen", c.listen},
       pair<const char*, std::string&>{"tls", c.tls},
       pair<const char*, std::string&>{"cert_file", c.cert_file},
       pair<const char*, std::string&>{"key_file", c.key_file},
       pair<const char*, std::string&>{"public_url", c.public_url},
       pair<const char*, std::vector<std::string>&>{"trusted_proxies", c.trusted_proxies},
       pair<const char*, int&>{"keep_alive_hold_ms", c.keep_alive_hold_ms});
  take("storage", pair<const char*, std::string&>{"data_dir", c.data_dir});
  take("relay", pair<const char*, std::string&>{"kind", c.relay_kind},
       pair<const char*, std::string&>{"host", c.relay_host},
       pair<const char*, int&>{"port", c.relay_port},
       pair<const char*, std::string&>{"security", c.relay_security},
       pair<const char*, std::string&>{"username", c.relay_username},
       pair<const char*, std::string&>{"password_file", c.relay_password_file},
       pair<const char*, std::string&>{"from", c.relay_from},
       pair<const char*, std::string&>{"ca_file", c.relay_ca_file},
       pair<const char*, int&>{"timeout_s", c.relay_timeout_s},
       pair<const char*, std::string&>{"url", c.relay_url},
       pair<const char*, std::string&>{"secret_file", c.relay_secret_file});
  take("hashing", pair<const char*, int&>{"opslimit", c.opslimit},
       pair<const char*, int&>{"memlimit_mib", c.memlimit_mib},
       pair<const char*, int&>{"max_concurrent", c.max_concurrent});
  take("accounts", pair<const char*, int&>{"temp_password_ttl_h", c.temp_password_ttl_h},
       pair<const char*, int&>{"link_ttl_min", c.link_ttl_min});
  take("ui", pair<const char*, std::string&>{"default_locale", c.default_locale});
  take("forward_auth", pair<const char*, bool&>{"enabled", c.forward_auth_enabled},
       pair<const char*, std::vector<std::string>&>{"allowed_redirect_origins", c.allowed_redirect_origins},
       pair<const char*, std::string&>{"cookie_domain", c.cookie_domain},
       pair<const char*, std::vector<std::string>&>{"two_factor", c.forward_auth_two_factor});
  take("pam", pair<const char*, bool&>{"enabled", c.pam_enabled},
       pair<const char*, std::string&>{"socket", c.pam_socket},
       pair<const char*, std::string&>{"group", c.pam_group},
       pair<const char*, std::vector<std::string>&>{"allow_system_accounts", c.pam_allow_system_accounts});
  take("audit", pair<const char*, bool&>{"syslog", c.audit_syslog},
       pair<const char*, std::string&>{"syslog_facility", c.audit_syslog_facility},
       pair<const char*, std::string&>{"syslog_app_name", c.audit_syslog_app_name},
       pair<const char*, std::string&>{"syslog_socket", c.audit_syslog_socket});
  if (e) return *e;
  // [caller_verification]: "role" = "off" | "optional" | "required" (issue 23).
  if (const toml::table* cv = section("caller_verification")) {
    for (const auto& [k, v] : *cv) {
      const std::string key(k.str());
      if (key != "helpdesk_admin" && key != "password_admin" && key != "user_admin" && key != "global_admin")
        return bad("caller_verification." + key, "…",
                   "one of helpdesk_admin, password_admin, user_admin, global_admin");
      const auto* val = v.as_string();
      if (!val || (val->get() != "off" && val->get() != "optional" && val->get() != "required"))
        return bad("caller_verification." + key, show(v), "\"off\", \"optional\" or \"required\"");
      c.caller_verification[key] = val->get();
    }
  }
  if (const toml::table* au = section("audit")) {
    static const std::set<std::string> kAuditKeys = {"syslog", "syslog_facility", "syslog_app_name",
                                                     "syslog_socket"};
    for (const auto& [k, v] : *au)
      if (!kAuditKeys.count(std::string(k.str())))
        return bad("audit." + std::string(k.str()), "…",
                   "one of syslog, syslog_facility, syslog_app_name, syslog_socket");
  }
  if (const toml::table* fa = section("forward_auth")) {
    for (const auto& [k, v] : *fa) {
      const std::string key(k.str());
      if (key != "enabled" && key != "allowed_redirect_origins" && key != "cookie_domain" && key != "rules" &&
          key != "two_factor")
        return bad("forward_auth." + key, "…",
                   "one of enabled, allowed_redirect_origins, cookie_domain, rules, two_factor");
    }
    if (const toml::node* rn = fa->get("rules")) {
      const toml::table* rules = rn->as_table();
      if (!rules) return bad("forward_auth.rules", show(*rn), "a table of \"host\" = [\"role\", …]");
      for (const auto& [host, roles] : *rules) {
        std::vector<std::string> list;
        auto err = get(*rules, "forward_auth.rules", std::string(host.str()).c_str(), list);
        if (err) return *err;
        c.forward_auth_rules.emplace_back(std::string(host.str()), list);
      }
    }
  }
  if (const toml::table* sf = section("second_factor")) {
    for (const auto& [k, v] : *sf) {
      const std::string key(k.str());
      if (key == "enabled") {
        if (auto err = get(*sf, "second_factor", "enabled", c.second_factor_enabled)) return *err;
        continue;
      }
      if (key != "user" && key != "helpdesk_admin" && key != "password_admin" && key != "user_admin" &&
          key != "global_admin")
        return bad("second_factor." + key, "…",
                   "one of enabled, user, helpdesk_admin, password_admin, user_admin, global_admin");
      std::string rule;
      if (auto err = get(*sf, "second_factor", key.c_str(), rule)) return *err;
      c.second_factor_roles.emplace_back(key, rule);
    }
  }
  if (const toml::table* pam = section("pam")) {
    for (const auto& [k, v] : *pam) {
      const std::string key(k.str());
      if (key != "enabled" && key != "socket" && key != "group" && key != "allow_system_accounts")
        return bad("pam." + key, "…", "one of enabled, socket, group, allow_system_accounts");
    }
  }
  auto& d = c.directory;
  take("directory", pair<const char*, std::string&>{"kind", d.kind},
       pair<const char*, std::string&>{"url", d.url},
       pair<const char*, std::vector<std::string>&>{"failover_urls", d.failover_urls},
       pair<const char*, std::string&>{"ca_file", d.ca_file},
       pair<const char*, std::string&>{"bind_dn", d.bind_dn},
       pair<const char*, std::string&>{"bind_password", d.bind_password},
       pair<const char*, std::string&>{"bind_password_file", c.directory_bind_password_file},
       pair<const char*, std::string&>{"users_base", d.users_base},
       pair<const char*, std::string&>{"user_filter", d.user_filter},
       pair<const char*, std::string&>{"username_attribute", d.attrs.username},
       pair<const char*, std::string&>{"display_name_attribute", d.attrs.display_name},
       pair<const char*, std::string&>{"email_attribute", d.attrs.email},
       pair<const char*, std::string&>{"alternate_email_attribute", d.attrs.alternate_email},
       pair<const char*, std::string&>{"locale_attribute", d.attrs.locale},
       pair<const char*, int&>{"timeout_s", d.timeout_s},
       pair<const char*, int&>{"page_size", d.page_size},
       pair<const char*, int&>{"max_users", d.max_users},
       pair<const char*, int&>{"sync_interval_min", d.sync_interval_min});
  if (const toml::table* dt = section("directory")) {
    static const std::set<std::string> kDirKeys = {
        "kind", "url", "failover_urls", "ca_file", "bind_dn", "bind_password", "bind_password_file",
        "users_base", "user_filter", "username_attribute", "display_name_attribute", "email_attribute",
        "alternate_email_attribute", "locale_attribute", "timeout_s", "page_size", "max_users",
        "sync_interval_min", "roles"};
    for (const auto& [k, v] : *dt)
      if (!kDirKeys.count(std::string(k.str())))
        return bad("directory." + std::string(k.str()), "…", "a key of [directory] (see man resetd.toml)");
    if (const toml::node* rn = dt->get("roles")) {
      const toml::table* rt = rn->as_table();
      if (!rt) return bad("directory.roles", show(*rn), "a table of \"group DN\" = \"role\"");
      for (const auto& [k, v] : *rt) {
        auto role = v.value<std::string>();
        if (!role) return bad("directory.roles.\"" + std::string(k.str()) + "\"", show(v), "a role name");
        d.roles[std::string(k.str())] = *role;
      }
    }
  }
  if (e) return *e;
  if (!c.directory_bind_password_file.empty()) {
    std::ifstream pf(c.directory_bind_password_file);
    std::string line;
    if (!pf || !std::getline(pf, line))
      return bad("directory.bind_password_file", "\"" + c.directory_bind_password_file + "\"",
                 "a readable file holding the password");
    d.bind_password = line;
  }
  return c;
}

Result<Config> load(const std::string& path, const Overrides& o) {
  Result<Config> r = Config{};
  std::string p = path;
  if (p.empty() && std::filesystem::exists(kDefaultConfigPath)) p = kDefaultConfigPath;
  if (!p.empty()) {
    std::ifstream in(p);
    if (!in) return make_error("invalid_config", "config: cannot read " + p);
    std::stringstream ss;
    ss << in.rdbuf();
    r = parse(ss.str(), p);
    if (!r) return r;
  }
  Config c = r.value();
  if (o.data_dir) c.data_dir = *o.data_dir;
  if (o.listen) c.listen = *o.listen;
  if (o.no_tls) c.tls = "off";
  if (auto s = validate(c); !s) {
    Error err = s.error();
    if (o.listen && err.field == "server.listen") err.message = "--listen " + *o.listen + ": expected HOST:PORT with a port 1–65535";
    return err;
  }
  return c;
}

}  // namespace resetd::config
