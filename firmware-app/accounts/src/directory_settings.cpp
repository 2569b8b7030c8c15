// AccountService and the site's directory: which one is in use, its settings
// (the config file's, overlaid by what an admin saved; the bind password
// sealed and write-only), "Test connection", and how its answers read as API
// errors.
#include <nlohmann/json.hpp>

#include "resetd/accounts/service.h"

namespace resetd::accounts {

using nlohmann::json;

void AccountService::set_directory(std::shared_ptr<directory::Directory> d) {
  std::lock_guard<std::mutex> lock(dir_mu_);
  dir_ = std::move(d);
  last_sync_.reset();
}

std::shared_ptr<directory::Directory> AccountService::directory() const {
  std::lock_guard<std::mutex> lock(dir_mu_);
  return dir_;
}

bool AccountService::directory_mode() const {
  auto d = directory();
  return d && !d->local();
}

std::optional<SyncReport> AccountService::last_sync() const {
  std::lock_guard<std::mutex> lock(dir_mu_);
  return last_sync_;
}

Error AccountService::directory_error(const directory::Answer& ans) {
  using directory::Outcome;
  switch (ans.outcome) {
    case Outcome::Policy:
      return make_error("directory_policy",
                        "The directory's own password policy refused this password (too short, "
                        "too simple, or used before). Choose another one. The directory said: " +
                            ans.text,
                        "password");
    case Outcome::Unavailable: {
      Error e = make_error("directory_unavailable",
                           "The directory cannot be reached, is not trusted, or refused resetd's "
                           "service account; nothing was changed, queued or mailed. Check "
                           "Settings → Directory → Test connection. The directory said: " +
                               ans.text);
      e.retry_after_s = 30;
      return e;
    }
    case Outcome::WrongPassword:
      return make_error("wrong_current_password", "The current password is incorrect.",
                        "current_password");
    case Outcome::NotFound:
      return make_error("directory_error",
                        "The directory no longer has this user; refresh the user list. The "
                        "directory said: " + ans.text);
    default:
      return make_error("directory_error",
                        "The directory refused the change; nothing was changed, queued or "
                        "mailed. The directory said: " + ans.text);
  }
}

void AccountService::set_directory_file_config(directory::Config c) {
  std::lock_guard<std::mutex> lock(dir_mu_);
  dir_file_config_ = std::move(c);
}

directory::Config AccountService::directory_config() const {
  directory::Config c;
  {
    std::lock_guard<std::mutex> lock(dir_mu_);
    c = dir_file_config_;
  }
  std::optional<std::string> saved;
  store_.read([&](storage::Reader& r) { saved = r.setting("directory"); });
  if (!saved) return c;
  json j = json::parse(*saved, nullptr, false);
  if (!j.is_object()) return c;
  for (const auto& k : directory::string_keys()) {
    std::string& v = directory::value_of(c, k);
    if (j.contains(k.key) && j[k.key].is_string()) v = j[k.key].get<std::string>();
  }
  for (const auto& k : directory::int_keys())
    if (j.contains(k.key) && j[k.key].is_number_integer()) c.*k.field = j[k.key].get<int>();
  if (j.contains("failover_urls") && j["failover_urls"].is_array()) {
    c.failover_urls.clear();
    for (const auto& v : j["failover_urls"])
      if (v.is_string()) c.failover_urls.push_back(v.get<std::string>());
  }
  if (j.contains("roles") && j["roles"].is_object()) {
    c.roles.clear();
    for (auto& [k, v] : j["roles"].items())
      if (v.is_string()) c.roles[k] = v.get<std::string>();
  }
  if (j.contains("bind_password_sealed") && j["bind_password_sealed"].is_string()) {
    if (auto pw = box_.open_hex(j["bind_password_sealed"].get<std::string>())) c.bind_password = *pw;
  }
  return c;
}

bool AccountService::directory_password_saved() const { return !directory_config().bind_password.empty(); }

namespace {

// Where the bind password goes and who it speaks for: the relay rule's
// "destination" for the directory.
bool same_destination(const directory::Config& a, const directory::Config& b) {
  return a.kind == b.kind && a.url == b.url && a.failover_urls == b.failover_urls &&
         a.ca_file == b.ca_file && a.bind_dn == b.bind_dn;
}

}  // namespace

Result<directory::Config> AccountService::with_stored_password(directory::Config c, bool retyped) const {
  if (retyped) return c;
  const directory::Config was = directory_config();
  if (same_destination(was, c)) {
    c.bind_password = was.bind_password;
    return c;
  }
  // A stored password only ever goes where it was typed for: in AD the
  // service account may reset users' passwords, so a borrowed admin session
  // must not be able to point it at a listener of its own.
  if (!c.remote() || was.bind_password.empty()) {  // nothing to send / validate() asks for one
    c.bind_password.clear();
    return c;
  }
  // A bad value is named first (nothing is sent either way), then the password.
  if (auto st = directory::validate(c); !st) return st.error();
  c.bind_password.clear();
  return make_error("bind_password_required",
                    "The directory's type, URL, failover URLs, CA file or service account changed, so "
                    "the stored service account password is not used: it is only sent to the server "
                    "it was entered for. Type the password again in the same request.",
                    "bind_password");
}

Result<directory::Config> AccountService::put_directory(const Actor& a, directory::Config c, bool retyped) {
  if (!may_administer_site(a.role)) return make_error("forbidden", "You are not allowed to do this.");
  auto kept = with_stored_password(std::move(c), retyped);
  if (!kept) return kept.error();
  c = std::move(kept.value());
  if (auto st = directory::validate(c); !st) return st.error();
  json j = json::object();
  for (const auto& k : directory::string_keys()) j[k.key] = directory::value_of(c, k);
  for (const auto& k : directory::int_keys()) j[k.key] = c.*k.field;
  j["failover_urls"] = c.failover_urls;
  j["roles"] = c.roles;
  if (!c.bind_password.empty()) j["bind_password_sealed"] = box_.seal_hex(c.bind_password);
  store_.write([&](storage::Writer& w) {
    w.put_setting("directory", j.dump());
    audit(w, a.username, a.client, "settings_change", "directory",
          "ok", "kind " + c.kind + (c.remote() ? ", " + c.url : "") + (retyped ? ", bind password set" : ""));
  });
  set_directory(directory::make(c));
  return c;
}

Result<directory::Answer> AccountService::test_directory(const Actor& a, directory::Config c, bool retyped) {
  if (!may_administer_site(a.role)) return make_error("forbidden", "You are not allowed to do this.");
  auto kept = with_stored_password(std::move(c), retyped);
  if (!kept) return kept.error();
  c = std::move(kept.value());
  if (auto st = directory::validate(c); !st) return st.error();
  auto d = directory::make(c);
  directory::Answer ans = d->test_connection();
  // The server's own text stays here, in the audit; the answer carries a category.
  store_.write([&](storage::Writer& w) {
    audit(w, a.username, a.client, "directory_test", c.url, ans.ok() ? "ok" : "failed",
          (ans.ok() ? "" : directory::failure_code(ans.failure) + ": ") + ans.text);
  });
  return ans;
}

}  // namespace resetd::accounts
