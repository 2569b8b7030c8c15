// AccountService: construction, shared helpers, policy, notifications, sweep.
#include <filesystem>

#include "resetd/accounts/service.h"
#include "credentials.h"
#include "resetd/accounts/text.h"

namespace resetd::accounts {

using storage::OutboxRecord;
using storage::UserRecord;

std::string display_or_username(const UserRecord& u) {
  return u.display_name.empty() ? u.username : u.display_name;
}

AccountService::AccountService(storage::Store& store, const Clock& clock,
                               crypto::PasswordHasher& hasher, const crypto::SecretBox& box,
                               Renderer render, AccountSettings settings)
    : store_(store),
      clock_(clock),
      hasher_(hasher),
      box_(box),
      render_(std::move(render)),
      settings_(std::move(settings)),
      client_failures_(clock, 30, 300),
      account_failures_(clock, kLockoutFailures, kLockoutS),
      ss_request_limit_(clock, 5, 900),
      ss_reset_limit_(clock, 10, 900) {
  // A well-formed hash with the live parameters, so a sign-in for an unknown
  // user costs one full verification like a known user's; made without
  // hashing, so the start does not pay for an Argon2id run.
  dummy_hash_ = hasher_.unmatchable_hash();
  ss_thread_ = std::thread([this] { self_service_loop(); });
}

AccountService::~AccountService() { stop_background(); }

void AccountService::stop_background() {
  {
    std::lock_guard<std::mutex> lock(ss_mu_);
    ss_stop_ = true;
  }
  ss_cv_.notify_all();
  if (ss_thread_.joinable()) ss_thread_.join();
}

void AccountService::notify_outbox() {
  if (outbox_changed_) outbox_changed_();
}

void AccountService::audit(storage::Writer& w, const std::string& actor, const std::string& client,
                           const std::string& action, const std::string& target,
                           const std::string& outcome, const std::string& detail) {
  storage::AuditRecord a;
  a.at = clock_.now();
  a.actor = actor;
  a.client = client;
  a.action = action;
  a.target = target;
  a.outcome = outcome;
  a.detail = detail;
  w.append_audit(a);
}

std::string AccountService::search_text(const UserRecord& u) const {
  return fold(u.username + "\n" + u.display_name + "\n" + u.email + "\n" + u.alternate_email);
}

Result<std::string> AccountService::hash_password(const std::string& pw) {
  auto h = hasher_.hash(nfc(pw));
  if (!h) {
    return busy_error();
  }
  return *h;
}

PolicySettings AccountService::policy() const {
  const std::optional<std::string> j = setting("password_policy");
  return j ? policy_from_json(*j) : PolicySettings{};
}

PolicyResult AccountService::check_policy(const std::string& password,
                                          const std::optional<int64_t>& user_id, const Actor* a) {
  PolicyContext ctx;
  if (user_id && a) {
    std::optional<UserRecord> u;
    store_.read([&](storage::Reader& r) { u = r.user_by_id(*user_id); });
    // Only admins, or the user themself, get the user's context applied.
    if (u && (is_admin(a->role) || a->user_id == u->id))
      ctx = {u->username, u->email, u->display_name};
  }
  return check_password(password, ctx, policy());
}

OutboxRecord AccountService::make_message(const UserRecord& u, const std::string& kind,
                                          const std::string& to,
                                          const std::map<std::string, std::string>& vars,
                                          std::optional<int64_t> secret_expires,
                                          const std::string& tmpl) {
  OutboxRecord m;
  m.user_id = u.id;
  m.kind = kind;
  m.recipient = to;
  m.locale = u.locale.empty() ? settings_.default_locale : u.locale;
  auto [subject, body] = render_(tmpl.empty() ? kind : tmpl, m.locale, vars);
  m.subject = subject;
  m.carries_secret = secret_expires.has_value();
  m.secret_expires_at = secret_expires;
  m.body = m.carries_secret ? box_.seal(body) : body;
  m.state = "queued";
  m.next_attempt_at = clock_.now();
  m.created_at = clock_.now();
  m.message_id = crypto::random_token(18) + "@resetd";
  return m;
}

Result<std::pair<std::vector<OutboxRecord>, int64_t>> AccountService::list_notifications(
    const Actor& a, const storage::OutboxQuery& q) {
  if (!is_admin(a.role)) return make_error("forbidden", "You are not allowed to do this.");
  std::pair<std::vector<OutboxRecord>, int64_t> out;
  store_.read([&](storage::Reader& r) {
    out.first = r.outbox_list(q);
    out.second = r.outbox_count(q);
  });
  return out;
}

Result<OutboxRecord> AccountService::retry_notification(const Actor& a, int64_t id) {
  if (!is_admin(a.role)) return make_error("forbidden", "You are not allowed to do this.");
  std::optional<Error> err;
  OutboxRecord m;
  store_.write([&](storage::Writer& w) {
    auto cur = w.outbox_by_id(id);
    if (!cur) {
      err = make_error("not_found", "No such notification.");
      return;
    }
    if (cur->state != "failed" && cur->state != "queued") {
      err = make_error("not_retryable", "Only a failed or queued notification can be retried.");
      return;
    }
    if (cur->carries_secret && cur->secret_expires_at && *cur->secret_expires_at <= clock_.now()) {
      err = make_error("secret_expired", "The password or link in this message has expired; reset again.");
      return;
    }
    cur->state = "queued";
    cur->next_attempt_at = clock_.now();
    w.update_outbox(*cur);
    audit(w, a.username, a.client, "notification_retry", cur->recipient, "ok",
          "notification " + std::to_string(id));
    m = *cur;
  });
  if (err) return *err;
  notify_outbox();
  return m;
}

void AccountService::sweep() {
  const int64_t now = clock_.now();
  const int64_t audit_days = audit_retention_days();
  store_.write([&](storage::Writer& w) {
    w.purge_expired_sessions(now);
    w.expire_secret_messages(now);
    w.purge_outbox(now - 30 * 86400);
    w.purge_audit(now - audit_days * 86400);
    w.purge_codes(now - 86400);
  });
  send_expiry_reminders();
  const int64_t mono = clock_.mono_ms();
  std::lock_guard<std::mutex> lock(idle_mu_);
  for (auto it = last_activity_ms_.begin(); it != last_activity_ms_.end();)
    it = (mono - it->second > kSessionIdleMs) ? last_activity_ms_.erase(it) : std::next(it);
}

Status AccountService::validate_options(const ResetOptions& o, bool bulk) {
  if (o.mode != "auto" && o.mode != "manual")
    return make_error("invalid_mode", "mode must be \"auto\" or \"manual\".", "mode");
  if (bulk && o.mode != "auto")
    return make_error("invalid_mode", "A bulk reset must use mode \"auto\".", "mode");
  if (o.delivery != "password" && o.delivery != "link")
    return make_error("invalid_delivery", "delivery must be \"password\" or \"link\".", "delivery");
  if (o.mode == "manual" && o.delivery == "link")
    return make_error("manual_link_conflict",
                      "A typed password can't be combined with delivery \"link\".", "delivery");
  if (o.password_style != "readable" && o.password_style != "symbols")
    return make_error("invalid_password_style", "password_style must be \"readable\" or \"symbols\".",
                      "password_style");
  if (o.mode == "manual" && !o.password)
    return make_error("password_required", "mode \"manual\" needs a password.", "password");
  if (o.notify.size() > 5)
    return make_error("too_many_recipients", "At most 5 addresses may be notified.", "notify");
  for (const auto& addr : o.notify) {
    // mail goes out to these: the domain must also have a dot
    if (!valid_email(addr) || addr.find('.', addr.find('@')) == std::string::npos)
      return make_error("invalid_email", "Not a valid email address: " + addr, "notify");
  }
  return ok_status();
}

}  // namespace resetd::accounts
