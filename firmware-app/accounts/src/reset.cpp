// AccountService: the admin reset (spec §1), its notifications, and the
// emailed set-password link.
#include <algorithm>

#include "resetd/accounts/service.h"
#include "credentials.h"
#include "resetd/accounts/text.h"

namespace resetd::accounts {

using storage::OutboxRecord;
using storage::UserRecord;

namespace {
std::string lower(std::string s) { return ascii_lower(std::move(s)); }
}  // namespace

Result<AccountService::Prepared> AccountService::prepare(const UserRecord& target,
                                                         const ResetOptions& o) {
  Prepared p;
  if (o.delivery == "link") {
    if (settings_.public_url.empty())
      return make_error("public_url_required",
                        "Set server.public_url in the configuration to send set-password links.",
                        "delivery");
    p.link_token = crypto::random_token(32);
    return p;
  }
  std::string pw;
  if (o.mode == "auto") {
    // At least as long as the policy asks; strength is far above any
    // min_strength_bits the settings allow. A site banned word or the user's
    // name could still turn up by chance: draw again, and never hand out one
    // that fails.
    const PolicySettings pol = policy();
    const size_t min_len = pol.min_length > 0 ? static_cast<size_t>(pol.min_length) : 0;
    bool passed = false;
    for (int i = 0; i < 20 && !passed; ++i) {
      pw = o.password_style == "symbols" ? crypto::generate_password(std::max<size_t>(16, min_len))
                                         : crypto::generate_readable_password(std::max<size_t>(20, min_len));
      passed = check_password(pw, {target.username, target.email, target.display_name}, pol).ok;
    }
    if (!passed)
      return make_error("password_generation_failed",
                        "No generated password passed the policy; type one instead.", "mode");
    p.generated = true;
  } else {
    pw = *o.password;
    PolicyResult pr =
        check_password(pw, {target.username, target.email, target.display_name}, policy());
    if (!pr.ok) return make_error(pr.reasons.front(), "The password does not meet the policy.", "password");
    if (!target.password_hash.empty()) {
      auto same = hasher_.verify(target.password_hash, nfc(pw));
      if (!same) return busy_error();
      if (*same)
        return make_error("password_same_as_current", "Choose a password different from the current one.", "password");
    }
  }
  p.password = pw;
  if (!target.directory_id.empty() && directory_mode()) return p;  // the directory hashes
  auto h = hash_password(pw);
  if (!h) return h.error();
  p.hash = h.value();
  return p;
}

ResetOutcome AccountService::apply_reset(storage::Writer& w, UserRecord& u, const Prepared& p,
                                         const ResetOptions& o, const std::string& actor_name,
                                         const std::string& client, const std::string& action) {
  const int64_t now = clock_.now();
  ResetOutcome out;
  // Unsent mails with the old secret are superseded below; each is recorded,
  // so the audit never leaves "queued for" standing for a mail that never went.
  std::vector<OutboxRecord> unsent;
  {
    storage::OutboxQuery q;
    q.user_id = u.id;
    q.limit = 1000;
    for (auto& m : w.outbox_list(q))
      if (m.carries_secret && (m.state == "queued" || m.state == "sending" || m.state == "failed"))
        unsent.push_back(std::move(m));
  }
  revoke_credentials(w, u.id, now);
  for (const auto& m : unsent)
    audit(w, actor_name, client, "notification_superseded", m.recipient, "ok",
          "notification " + std::to_string(m.id) + " (" + m.kind + ") superseded by a newer reset of " +
              u.username);

  std::optional<int64_t> secret_expires;
  std::map<std::string, std::string> vars = {{"username", u.username},
                                             {"display_name", display_or_username(u)},
                                             {"sign_in_url", settings_.public_url}};
  std::string kind;
  if (p.link_token) {
    set_password(u, "", false, std::nullopt, now);  // the old password stops working at once
    storage::LinkTokenRecord t;
    t.user_id = u.id;
    t.token_hash = crypto::sha256_hex(*p.link_token);
    t.created_at = now;
    t.expires_at = now + int64_t{settings_.link_ttl_min} * 60;
    w.insert_link_token(t);
    std::string base = settings_.public_url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    out.link = base + "/#/set-password?token=" + *p.link_token;
    secret_expires = t.expires_at;
    out.expires_at = t.expires_at;
    vars["link"] = *out.link;
    vars["expires_at"] = rfc3339(t.expires_at);
    kind = "link";
  } else {
    const int64_t ttl = int64_t{settings_.temp_password_ttl_h} * 3600;
    set_password(u, p.hash, o.require_change,
                 o.require_change ? std::optional<int64_t>(now + ttl) : std::nullopt, now);
    secret_expires = now + ttl;
    // An ordinary password (require_change off) does not expire as a temporary one.
    out.expires_at = o.require_change ? std::optional<int64_t>(now + ttl) : std::nullopt;
    vars["password"] = *p.password;
    vars["expires_at"] = rfc3339(now + ttl);
    kind = "password";
    if (p.generated) out.password = p.password;
  }
  w.update_user(u);

  // A new account's mails are welcome mails, in their text and in their kind
  // (welcome_password, welcome_link, welcome_notice), so the outbox and the
  // audit name them as what they are, not as a reset.
  const std::string tmpl = action == "user_create_password" ? "welcome_" : "";
  std::vector<std::string> sent_to;
  for (const auto& addr : o.notify) {
    if (std::find(sent_to.begin(), sent_to.end(), lower(addr)) != sent_to.end()) continue;
    sent_to.push_back(lower(addr));
    OutboxRecord m = make_message(u, tmpl + kind, addr, vars, secret_expires);
    m.id = w.insert_outbox(m);
    out.notifications.push_back(m);
  }
  if (o.notify_user && !u.email.empty() &&
      std::find(sent_to.begin(), sent_to.end(), lower(u.email)) == sent_to.end()) {
    std::map<std::string, std::string> nv = {{"username", u.username}, {"display_name", display_or_username(u)},
                                             {"actor", actor_name}, {"when", rfc3339(now)}};
    nv.insert(o.caller_notice.begin(), o.caller_notice.end());  // how the caller was checked, if at all
    OutboxRecord m = make_message(u, tmpl + "notice", u.email, nv, std::nullopt);
    m.id = w.insert_outbox(m);
    out.notifications.push_back(m);
  }
  // Where the secret and the notice went: addresses only, never the secret.
  std::string secret_to, notice_to;
  for (const auto& m : out.notifications) {
    std::string& list = m.kind.ends_with("notice") ? notice_to : secret_to;
    list += (list.empty() ? "" : " ") + m.recipient;
  }
  // A link lets the user choose the password: nothing is left to change at
  // first sign-in, so "must change" is neither set (above) nor recorded.
  const bool must_change = !p.link_token && o.require_change;
  std::string detail = "delivery " + o.delivery + ", mode " + o.mode +
                       (must_change ? ", must change" : "") + ", " +
                       std::to_string(out.notifications.size()) + " notification(s)" +
                       // Queued, not sent: the delivery worker records what became of
                       // each message (sent, failed, expired, superseded).
                       (secret_to.empty() ? ", " + o.delivery + " mailed to nobody"
                                          : ", " + o.delivery + " queued for " + secret_to) +
                       (notice_to.empty() ? "" : ", notice queued for " + notice_to) +
                       (o.caller_audit.empty() ? "" : ", " + o.caller_audit);
  audit(w, actor_name, client, action, u.username, "ok", detail);
  caller_override_notices(w, u, o, actor_name, client);
  out.caller_override = o.caller_override;
  out.user = u;
  return out;
}

Result<ResetOutcome> AccountService::reset_password(const Actor& a, int64_t id,
                                                    const ResetOptions& options) {
  ResetOptions o = options;
  if (auto s = validate_options(o, false); !s) return s.error();
  std::optional<UserRecord> target;
  store_.read([&](storage::Reader& r) { target = r.user_by_id(id); });
  if (!target) return make_error("not_found", "No such user.");
  if (a.user_id == id)
    return make_error("cannot_reset_self",
                      "Use \"change my password\" to change your own password.");
  Role target_role = parse_role(target->role).value_or(Role::User);
  if (!target->directory_id.empty() && directory_mode()) {
    // A directory user's staff role is the directory's: one made admin since
    // the last sync is protected like one already.
    auto live = checked_target_role(a.role, *target, may_reset);
    if (!live) return live.error();
    target_role = *live;
  }
  if (!may_reset(a.role, target_role)) {
    store_.write([&](storage::Writer& w) {
      audit(w, a.username, a.client, "password_reset", target->username, "denied");
    });
    return make_error("forbidden", "You are not allowed to reset this user's password.");
  }
  // Checked before the (slow) prepare, used up once the reset goes ahead.
  if (auto cc = caller_check(a, *target, o); !cc) return cc.error();
  auto prep = prepare(*target, o);
  if (!prep) return prep.error();
  std::optional<CallerEntry> taken;
  if (auto cc = caller_check(a, *target, o, &taken); !cc) return cc.error();
  if (!target->directory_id.empty() && directory_mode()) {
    auto r = directory_reset(a, *target, prep.value(), o);
    // Refused or unreachable, nothing changed: the caller stays verified. Any
    // other failure (an unknown or unrecorded outcome) may have reset: used up.
    static const std::set<std::string> kNothingChanged = {"directory_unavailable", "directory_policy",
                                                          "directory_error", "directory_busy", "reset_in_progress"};
    if (!r && kNothingChanged.count(r.error().code)) caller_give_back(o.caller_verification, taken);
    if (r) {
      account_failures_.clear(target->username);
      notify_outbox();
    }
    return r;
  }
  std::optional<Error> err;
  ResetOutcome out;
  store_.write([&](storage::Writer& w) {
    auto cur = w.user_by_id(id);
    if (!cur) {
      err = make_error("not_found", "No such user.");
      return;
    }
    if (cur->role != target->role) {  // changed meanwhile: check again
      if (!may_reset(a.role, parse_role(cur->role).value_or(Role::User))) {
        err = make_error("forbidden", "You are not allowed to reset this user's password.");
        return;
      }
    }
    out = apply_reset(w, *cur, prep.value(), o, a.username, a.client, "password_reset");
  });
  if (err) {
    caller_give_back(o.caller_verification, taken);
    return *err;
  }
  {
    std::lock_guard<std::mutex> lock(idle_mu_);
    // sessions of the user were deleted; their idle entries go at the sweep
  }
  account_failures_.clear(target->username);
  notify_outbox();
  return out;
}

Result<std::vector<Result<ResetOutcome>>> AccountService::bulk_reset_password(const Actor& a,
                                                                             const std::vector<int64_t>& ids,
                                                                             const ResetOptions& options) {
  if (auto st = bulk_caller_check(a, options); !st) return st.error();
  ResetOptions o = options;
  o.caller_override_batched = true;
  std::vector<Result<ResetOutcome>> outs;
  std::vector<std::string> overridden;
  for (int64_t id : ids) {
    outs.push_back(reset_password(a, id, o));
    if (outs.back() && outs.back()->caller_override) overridden.push_back(outs.back()->user.username);
  }
  announce_bulk_override(a, o.override_reason, overridden);
  return outs;
}

Status AccountService::set_password_with_link(const std::string& token, const std::string& next,
                                              const std::string& client) {
  if (token.empty() || token.size() > 128)
    return make_error("invalid_token", "This link is not valid.", "token");
  const std::string h = crypto::sha256_hex(token);
  std::optional<storage::LinkTokenRecord> t;
  std::optional<UserRecord> u;
  store_.read([&](storage::Reader& r) {
    t = r.link_token_by_hash(h);
    if (t) u = r.user_by_id(t->user_id);
  });
  const int64_t now = clock_.now();
  if (!t || !u) return make_error("invalid_token", "This link is not valid.", "token");
  if (t->used_at) return make_error("token_used", "This link was already used or replaced by a newer one.", "token");
  if (t->expires_at <= now) return make_error("token_expired", "This link has expired. Ask IT for a new one.", "token");
  PolicyResult pr = check_password(next, {u->username, u->email, u->display_name}, policy());
  if (!pr.ok) return make_error(pr.reasons.front(), "The new password does not meet the policy.", "new_password");
  if (!u->directory_id.empty() && directory_mode()) {
    std::optional<Error> used;
    auto st = directory_set_password(*u, next, "set_password_link", client,
                                     [&](storage::Writer& w, UserRecord& user) {
      auto cur = w.link_token_by_hash(h);
      if (cur && !cur->used_at) w.mark_link_token_used(cur->id, now);
      set_password(user, "", false, std::nullopt, now);
      w.update_user(user);
      revoke_credentials(w, user.id, now);
      audit(w, user.username, client, "set_password_link", user.username, "ok", "directory");
    });
    if (!st) return st.error();
    return ok_status();
  }
  auto hash = hash_password(next);
  if (!hash) return hash.error();
  std::optional<Error> err;
  store_.write([&](storage::Writer& w) {
    auto cur = w.link_token_by_hash(h);  // single use, also under races
    if (!cur || cur->used_at) {
      err = make_error("token_used", "This link was already used or replaced by a newer one.", "token");
      return;
    }
    auto user = w.user_by_id(cur->user_id);
    if (!user) {
      err = make_error("invalid_token", "This link is not valid.", "token");
      return;
    }
    w.mark_link_token_used(cur->id, now);
    set_password(*user, hash.value(), false, std::nullopt, now);
    w.update_user(*user);
    revoke_credentials(w, user->id, now);
    audit(w, user->username, client, "set_password_link", user->username, "ok");
  });
  if (err) return *err;
  return ok_status();
}

}  // namespace resetd::accounts
