// Directory settings (global_admin), "Test connection", sync on demand and
// the state of directory writes (issue 10). The bind password is write-only.
#include "api.h"
#include "resetd/accounts/roles.h"

namespace resetd::http {
namespace {

json config_json(const directory::Config& c, bool password_set) {
  json j = json::object();
  for (const auto& k : directory::string_keys()) j[k.key] = directory::value_of(c, k);
  for (const auto& k : directory::int_keys()) j[k.key] = c.*k.field;
  j["failover_urls"] = c.failover_urls;
  j["bind_password_set"] = password_set;
  j["roles"] = c.roles;
  return j;
}

// Applies the request body's fields over `c`; returns whether a new bind
// password was given.
bool apply_body(const json& b, directory::Config& c) {
  for (const auto& k : directory::string_keys())
    if (auto v = opt_string(b, k.key)) directory::value_of(c, k) = *v;
  for (const auto& k : directory::int_keys())
    if (auto v = opt_int(b, k.key)) c.*k.field = static_cast<int>(std::clamp<int64_t>(*v, -1, 100000));
  if (auto it = b.find("failover_urls"); it != b.end() && !it->is_null()) {
    if (!it->is_array()) fail(400, "invalid_type", "failover_urls must be an array of URLs.", "failover_urls");
    c.failover_urls.clear();
    for (const auto& v : *it) {
      if (!v.is_string()) fail(400, "invalid_type", "failover_urls must be an array of URLs.", "failover_urls");
      c.failover_urls.push_back(v.get<std::string>());
    }
  }
  if (b.contains("roles")) {
    if (!b["roles"].is_object()) fail(400, "invalid_type", "roles must be an object of group DN -> role.", "roles");
    c.roles.clear();
    for (auto& [k, v] : b["roles"].items()) {
      if (!v.is_string()) fail(400, "invalid_type", "Each role must be a string.", "roles");
      c.roles[k] = v.get<std::string>();
    }
  }
  auto pw = opt_string(b, "bind_password");
  if (pw && !pw->empty()) {
    c.bind_password = *pw;
    return true;
  }
  return false;
}

json sync_json(const std::optional<accounts::SyncReport>& r) {
  if (!r) return nullptr;
  json j = {{"ok", r->ok}, {"ms", r->ms},     {"total", r->total},     {"added", r->added},
            {"updated", r->updated}, {"removed", r->removed}, {"skipped", r->skipped}};
  j["at"] = r->at ? json(rfc3339(r->at)) : json(nullptr);
  j["roles_changed"] = r->roles_changed;
  if (!r->roles_error.empty()) j["roles_error"] = r->roles_error;
  if (!r->error.empty()) j["error"] = r->error;
  return j;
}

std::string category_of(const directory::Answer& a) {
  const std::string code = directory::failure_code(a.failure);
  return code.empty() ? "other" : code;
}

// The UI shows its own translation of the category; this is the API's text.
std::string test_message(const directory::Answer& a) {
  using directory::Failure;
  if (a.ok()) return "The directory answered over TLS, accepted the service account and users_base is readable.";
  switch (a.failure) {
    case Failure::NameNotFound: return "The directory's host name was not found.";
    case Failure::Refused: return "Nothing accepts connections at that address and port.";
    case Failure::Timeout: return "The directory did not answer in time.";
    case Failure::CertificateNotTrusted:
      return "The directory's certificate is not trusted by the CA file, or does not match its name.";
    case Failure::TlsUnavailable: return "The directory does not offer TLS (ldaps:// or StartTLS) there.";
    case Failure::CredentialsRefused: return "The directory refused the service account's DN or password.";
    case Failure::UsersBaseUnreadable: return "The service account signed in but cannot read the users base DN.";
    default: return "The connection did not work; the audit log has the directory's answer.";
  }
}

// The form field a failed test points at.
std::string field_of(const directory::Answer& a) {
  using directory::Failure;
  switch (a.failure) {
    case Failure::CertificateNotTrusted: return "ca_file";
    case Failure::CredentialsRefused: return "bind_password";
    case Failure::UsersBaseUnreadable: return "users_base";
    default: return "url";
  }
}

// Save tests a remote directory first: one that can't be reached, isn't
// trusted or refuses the service account is not put into live use unless
// the admin asks for exactly that ("save_untested": true). Answers 422
// directory_test_failed with the Test connection category; the server's
// own text goes to the audit only, as with Test connection.
bool refused_untested(Ctx& c, Services& s, const directory::Config& cfg, bool retyped) {
  if (!cfg.remote() || opt_bool(c.body, "save_untested").value_or(false)) return false;
  auto ans = take(s.accounts.test_directory(*c.actor, cfg, retyped));
  if (ans.ok()) return false;
  json err = {{"code", "directory_test_failed"},
              {"message", test_message(ans) + " Nothing was saved; fix it, or save anyway with save_untested."},
              {"field", field_of(ans)},
              {"category", category_of(ans)}};
  send_json(c.res, 422, json{{"error", err}});
  return true;
}

void require_admin(Ctx& c) {
  if (!accounts::may_administer_site(c.actor->role))
    fail(403, "forbidden", "Only a global admin can change site settings.");
}

}  // namespace

json directory_status_json(accounts::AccountService& a, std::optional<uint64_t> generation) {
  auto d = a.directory();
  json j = {{"kind", d ? d->kind() : "none"}, {"last_sync", sync_json(a.last_sync())}};
  // Interrupted directory writes not resolved yet (directory unreachable at start).
  j["open_intents"] = generation ? a.open_intent_count(*generation) : a.open_intent_count();
  return j;
}

void add_directory_routes(std::vector<Route>& r, Services& s) {
  r.push_back({"GET", PathPattern("/settings/directory"), Auth::Session, [&s](Ctx& c) {
                 require_admin(c);
                 auto cfg = s.accounts.directory_config();
                 send_json(c.res, 200, config_json(cfg, !cfg.bind_password.empty()));
               }});
  r.push_back({"PUT", PathPattern("/settings/directory"), Auth::Session, [&s](Ctx& c) {
                 require_admin(c);
                 auto cfg = s.accounts.directory_config();
                 const bool retyped = apply_body(c.body, cfg);
                 if (refused_untested(c, s, cfg, retyped)) return;
                 auto saved = take(s.accounts.put_directory(*c.actor, cfg, retyped));
                 send_json(c.res, 200, config_json(saved, !saved.bind_password.empty()));
               }});
  r.push_back({"POST", PathPattern("/settings/directory/test"), Auth::Session, [&s](Ctx& c) {
                 require_admin(c);
                 // Tests what the form holds (unsaved), falling back to the saved values.
                 auto cfg = s.accounts.directory_config();
                 const bool retyped = apply_body(c.body, cfg);
                 auto ans = take(s.accounts.test_directory(*c.actor, cfg, retyped));
                 // A category and a fixed message: the server's own text (from
                 // any host:port typed here) goes to the audit only.
                 json j = {{"ok", ans.ok()},
                           {"outcome", directory::outcome_name(ans.outcome)},
                           {"category", ans.ok() ? "ok" : category_of(ans)},
                           {"message", test_message(ans)}};
                 if (!ans.warning.empty()) j["warning"] = {{"code", "must_change_not_enforced"}, {"message", ans.warning}};
                 send_json(c.res, 200, j);
               }});
  r.push_back({"POST", PathPattern("/directory/sync"), Auth::Session, [&s](Ctx& c) {
                 if (!accounts::is_admin(c.actor->role)) fail(403, "forbidden", "Admins only.");
                 auto rep = take(s.accounts.sync_directory(c.actor->username, c.client));
                 s.accounts.resolve_intents();
                 s.accounts.expire_directory_temp_passwords();
                 send_json(c.res, 200, sync_json(rep));
               }});
  r.push_back({"GET", PathPattern("/directory/status"), Auth::Session, [&s](Ctx& c) {
                 if (!accounts::is_admin(c.actor->role)) fail(403, "forbidden", "Admins only.");
                 json st = directory_status_json(s.accounts);
                 json intents = json::array();
                 for (const auto& i : take(s.accounts.list_intents(*c.actor)))
                   intents.push_back({{"id", i.id},
                                      {"username", i.username},
                                      {"action", i.action},
                                      {"actor", i.actor},
                                      {"state", i.state},
                                      {"detail", i.detail},
                                      {"created_at", rfc3339(i.created_at)},
                                      {"resolved_at", i.resolved_at ? json(rfc3339(*i.resolved_at)) : json(nullptr)}});
                 st["intents"] = intents;
                 send_json(c.res, 200, st);
               }});
}

}  // namespace resetd::http
