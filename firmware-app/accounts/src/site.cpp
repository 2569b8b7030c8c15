// AccountService: site settings (policy, expiration, self-service, retention),
// password expiry and reminders, and the caller's own sessions.
#include <nlohmann/json.hpp>

#include "resetd/accounts/service.h"
#include "resetd/accounts/text.h"

namespace resetd::accounts {

using json = nlohmann::json;
using storage::UserRecord;

namespace {
Error forbidden() { return make_error("forbidden", "Only a global admin may change settings."); }

}  // namespace

std::optional<std::string> AccountService::setting(const std::string& key) const {
  uint64_t gen;
  {
    std::lock_guard<std::mutex> lock(settings_mu_);
    if (auto it = settings_cache_.find(key); it != settings_cache_.end()) return it->second;
    gen = settings_gen_;
  }
  std::optional<std::string> v;
  store_.read([&](storage::Reader& r) { v = r.setting(key); });
  std::lock_guard<std::mutex> lock(settings_mu_);
  if (gen == settings_gen_) settings_cache_[key] = v;
  return v;
}

// After the write committed (or failed): the next read goes to the database.
void AccountService::setting_changed(const std::string& key) {
  std::lock_guard<std::mutex> lock(settings_mu_);
  ++settings_gen_;
  settings_cache_.erase(key);
}

ExpirationSettings AccountService::expiration() const {
  ExpirationSettings e;
  auto v = setting("expiration");
  if (!v) return e;
  auto j = json::parse(*v, nullptr, false);
  if (!j.is_object()) return e;
  e.never_expires = j.value("never_expires", true);
  e.days = j.value("days", 90);
  e.reminder_days = j.value("reminder_days", 14);
  return e;
}

SelfServiceSettings AccountService::self_service() const {
  SelfServiceSettings s;
  auto v = setting("self_service");
  if (!v) return s;
  auto j = json::parse(*v, nullptr, false);
  if (j.is_object()) {
    s.enabled = j.value("enabled", false);
    s.admins_enabled = j.value("admins_enabled", false);
  }
  return s;
}

int AccountService::audit_retention_days() const {
  auto v = setting("audit_retention_days");
  if (!v) return 365;
  try {
    return std::stoi(*v);
  } catch (...) {
    return 365;
  }
}

void AccountService::audit_setting(const Actor& a, const std::string& what, const std::string& detail) {
  store_.write([&](storage::Writer& w) { audit(w, a.username, a.client, "setting_change", what, "ok", detail); });
}

void AccountService::audit_event(const std::string& actor, const std::string& client,
                                 const std::string& action, const std::string& target,
                                 const std::string& outcome, const std::string& detail) {
  store_.write([&](storage::Writer& w) { audit(w, actor, client, action, target, outcome, detail); });
}

Status AccountService::put_policy(const Actor& a, const PolicySettings& p) {
  if (!may_administer_site(a.role)) return forbidden();
  if (p.min_length < 8 || p.min_length > 64)
    return make_error("invalid_setting", "Minimum length must be 8–64.", "min_length");
  if (p.min_strength_bits < 0 || p.min_strength_bits > 80)
    return make_error("invalid_setting", "Minimum strength must be 0–80 bits.", "min_strength_bits");
  if (p.banned.size() > 1000)
    return make_error("invalid_setting", "At most 1000 banned words.", "banned_words");
  for (const auto& w : p.banned)
    if (!valid_utf8(w) || codepoints(w) < 3 || codepoints(w) > 64)
      return make_error("invalid_setting", "Banned words are 3–64 characters.", "banned_words");
  store_.write([&](storage::Writer& w) {
    w.put_setting("password_policy", policy_to_json(p));
    audit(w, a.username, a.client, "setting_change", "password_policy", "ok",
          "min_length " + std::to_string(p.min_length) + ", min_strength_bits " +
              std::to_string(p.min_strength_bits) + ", " + std::to_string(p.banned.size()) +
              " banned word(s)");
  });
  setting_changed("password_policy");
  return ok_status();
}

Status AccountService::put_expiration(const Actor& a, const ExpirationSettings& e) {
  if (!may_administer_site(a.role)) return forbidden();
  if (!e.never_expires) {
    if (e.days < 14 || e.days > 730)
      return make_error("invalid_setting", "Passwords expire after 14–730 days.", "days");
    if (e.reminder_days < 1 || e.reminder_days > 30)
      return make_error("invalid_setting", "The reminder comes 1–30 days before.", "reminder_days");
    if (e.reminder_days >= e.days)
      return make_error("invalid_setting", "The reminder must come before the expiry.", "reminder_days");
  }
  json j = {{"never_expires", e.never_expires}, {"days", e.days}, {"reminder_days", e.reminder_days}};
  store_.write([&](storage::Writer& w) {
    w.put_setting("expiration", j.dump());
    audit(w, a.username, a.client, "setting_change", "expiration", "ok",
          e.never_expires ? std::string("never expires")
                          : "expires after " + std::to_string(e.days) + " days, reminder " +
                                std::to_string(e.reminder_days) + " days before");
  });
  setting_changed("expiration");
  return ok_status();
}

Status AccountService::put_self_service(const Actor& a, const SelfServiceSettings& s) {
  if (!may_administer_site(a.role)) return forbidden();
  json j = {{"enabled", s.enabled}, {"admins_enabled", s.admins_enabled}};
  store_.write([&](storage::Writer& w) {
    w.put_setting("self_service", j.dump());
    audit(w, a.username, a.client, "setting_change", "self_service", "ok",
          std::string(s.enabled ? "enabled" : "disabled") +
              (s.admins_enabled ? ", also for admin roles" : ", not for admin roles"));
  });
  setting_changed("self_service");
  return ok_status();
}

Status AccountService::put_audit_retention(const Actor& a, int days) {
  if (!may_administer_site(a.role)) return forbidden();
  if (days < 30 || days > 3650)
    return make_error("invalid_setting", "Audit entries are kept 30–3650 days.", "audit_days");
  store_.write([&](storage::Writer& w) {
    w.put_setting("audit_retention_days", std::to_string(days));
    audit(w, a.username, a.client, "setting_change", "retention", "ok", "audit_days " + std::to_string(days));
  });
  setting_changed("audit_retention_days");
  return ok_status();
}

std::optional<int64_t> AccountService::password_expires_at(const UserRecord& u) const {
  return password_expires_at(u, expiration());
}

std::optional<int64_t> AccountService::password_expires_at(const UserRecord& u,
                                                           const ExpirationSettings& e) {
  std::optional<int64_t> t = u.temp_expires_at;
  // The initial admin password must be changed but does not expire (spec §2);
  // the policy applies to passwords the user chose.
  if (!e.never_expires && u.password_changed_at && !u.password_hash.empty() && !u.must_change) {
    int64_t p = *u.password_changed_at + int64_t{e.days} * 86400;
    if (!t || p < *t) t = p;
  }
  return t;
}

bool AccountService::password_expired(const UserRecord& u, int64_t now) const {
  ExpirationSettings e = expiration();
  if (e.never_expires || !u.password_changed_at || u.must_change) return false;
  return *u.password_changed_at + int64_t{e.days} * 86400 <= now;
}

int AccountService::send_expiry_reminders() {
  ExpirationSettings e = expiration();
  if (e.never_expires) return 0;
  const int64_t now = clock_.now();
  // due: changed at or before now - (days - reminder_days)
  const int64_t cutoff = now - int64_t{e.days - e.reminder_days} * 86400;
  std::vector<UserRecord> due;
  store_.read([&](storage::Reader& r) { due = r.users_due_reminder(cutoff); });
  int sent = 0;
  for (const auto& u0 : due) {
    if (u0.must_change) continue;
    store_.write([&](storage::Writer& w) {
      auto u = w.user_by_id(u0.id);
      if (!u || u->password_changed_at != u0.password_changed_at) return;
      const int64_t expires = *u->password_changed_at + int64_t{e.days} * 86400;
      auto m = make_message(*u, "reminder", u->email,
                            {{"username", u->username}, {"display_name", display_or_username(*u)},
                             {"expires_at", rfc3339(expires)}, {"sign_in_url", settings_.public_url}},
                            std::nullopt);
      w.insert_outbox(m);
      u->reminder_sent_for = u->password_changed_at;
      w.update_user(*u);
      audit(w, "system", "", "expiry_reminder", u->username, "ok", "expires " + rfc3339(expires));
      ++sent;
    });
  }
  if (sent) notify_outbox();
  return sent;
}

Result<std::vector<storage::SessionRecord>> AccountService::list_sessions(const Actor& a) {
  std::vector<storage::SessionRecord> out;
  const int64_t now = clock_.now();
  store_.read([&](storage::Reader& r) { out = r.sessions_for_user(a.user_id); });
  std::lock_guard<std::mutex> lock(idle_mu_);
  const int64_t mono = clock_.mono_ms();
  std::erase_if(out, [&](const storage::SessionRecord& s) {
    auto it = last_activity_ms_.find(s.id);
    return s.expires_at <= now || it == last_activity_ms_.end() || mono - it->second > kSessionIdleMs;
  });
  return out;
}

Status AccountService::end_session(const Actor& a, int64_t id) {
  std::optional<Error> err;
  store_.write([&](storage::Writer& w) {
    auto s = w.session_by_id(id);
    if (!s || s->user_id != a.user_id) {
      err = make_error("not_found", "No such session.");
      return;
    }
    w.delete_session(id);
    audit(w, a.username, a.client, "session_end", a.username, "ok", "session " + std::to_string(id));
  });
  if (err) return *err;
  std::lock_guard<std::mutex> lock(idle_mu_);
  last_activity_ms_.erase(id);
  return ok_status();
}

Status AccountService::end_other_sessions(const Actor& a) {
  int64_t n = 0;
  store_.write([&](storage::Writer& w) {
    n = w.delete_sessions_for_user(a.user_id, a.session_id);
    audit(w, a.username, a.client, "session_end", a.username, "ok",
          std::to_string(n) + " other session(s)");
  });
  return ok_status();
}

}  // namespace resetd::accounts
