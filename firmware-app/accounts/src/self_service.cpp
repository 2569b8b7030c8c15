// AccountService: self-service reset (spec §5). The request answers before
// any per-user work; a background thread looks the user up and mails a code.
#include <cstdio>

#include "resetd/accounts/service.h"
#include "credentials.h"
#include "resetd/accounts/text.h"

namespace resetd::accounts {

using storage::UserRecord;

namespace {
constexpr size_t kQueueMax = 256;
Error invalid_code() {
  return make_error("invalid_code", "The code is not valid. Check it, or ask for a new one.", "code");
}
}  // namespace

std::string AccountService::code_mac(int64_t user_id, const std::string& code) const {
  return box_.mac_hex("self-service-code\n" + std::to_string(user_id) + "\n" + code);
}

Status AccountService::self_service_request(const std::string& username, const std::string& client) {
  if (int64_t wait = ss_request_limit_.take(client); wait > 0) {
    Error e = make_error("rate_limited", "Too many requests. Try again later.");
    e.retry_after_s = static_cast<int>(wait);
    return e;
  }
  {
    std::lock_guard<std::mutex> lock(ss_mu_);
    // Beyond the bound the request is dropped; the answer stays the same.
    if (ss_queue_.size() < kQueueMax) ss_queue_.emplace_back(username.substr(0, 128), client);
  }
  ss_cv_.notify_one();
  return ok_status();
}

void AccountService::self_service_loop() {
  for (;;) {
    std::pair<std::string, std::string> job;
    {
      std::unique_lock<std::mutex> lock(ss_mu_);
      ss_cv_.wait(lock, [&] { return ss_stop_ || !ss_queue_.empty(); });
      if (ss_stop_) return;
      job = std::move(ss_queue_.front());
      ss_queue_.pop_front();
      ++ss_busy_;
    }
    try {
      process_self_service(job.first, job.second);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "accounts: self-service: %s\n", e.what());
    }
    {
      std::lock_guard<std::mutex> lock(ss_mu_);
      --ss_busy_;
    }
    ss_cv_.notify_all();
  }
}

void AccountService::drain_self_service() {
  std::unique_lock<std::mutex> lock(ss_mu_);
  ss_cv_.wait_for(lock, std::chrono::seconds(10), [&] { return ss_queue_.empty() && ss_busy_ == 0; });
}

void AccountService::process_self_service(const std::string& username_in, const std::string& client) {
  const std::string username = ascii_lower(username_in);
  const int64_t now = clock_.now();
  std::optional<UserRecord> u;
  const SelfServiceSettings ss = self_service();
  const bool enabled = ss.enabled;
  store_.read([&](storage::Reader& r) {
    if (valid_username(username)) u = r.user_by_username(username);
  });
  std::string outcome = "ok", detail;
  if (!enabled) {
    outcome = "denied";
    detail = "self-service is off";
  } else if (!u) {
    outcome = "failed";
    detail = "unknown user";
  } else if (u->disabled) {
    outcome = "denied";
    detail = "account disabled";
  } else if (is_admin(parse_role(u->role).value_or(Role::User)) && !ss.admins_enabled) {
    outcome = "denied";
    detail = "self-service is off for admin roles";
  } else if (u->alternate_email.empty()) {
    outcome = "failed";
    detail = "no alternate address on file";
  }
  const std::string target = valid_username(username) ? username : "(invalid)";
  if (outcome != "ok") {
    store_.write([&](storage::Writer& w) { audit(w, "-", client, "self_service_request", target, outcome, detail); });
    return;
  }
  const std::string code = crypto::random_digits(8);
  bool queued = false;
  store_.write([&](storage::Writer& w) {
    if (w.count_codes_since(u->id, now - 3600) >= kCodesPerHour) {
      audit(w, "-", client, "self_service_request", target, "denied", "hourly code limit reached");
      return;
    }
    w.invalidate_codes(u->id, now);
    storage::CodeRecord c;
    c.user_id = u->id;
    c.code_mac = code_mac(u->id, code);
    c.expires_at = now + kCodeTtlS;
    c.created_at = now;
    w.insert_code(c);
    auto m = make_message(*u, "code", u->alternate_email,
                          {{"username", u->username}, {"display_name", display_or_username(*u)},
                           {"code", code}, {"expires_at", rfc3339(c.expires_at)}},
                          c.expires_at);
    w.insert_outbox(m);
    audit(w, "-", client, "self_service_request", target, "ok", "code sent to the alternate address");
    queued = true;
  });
  if (queued) notify_outbox();
}

Status AccountService::self_service_reset(const std::string& username_in, const std::string& code,
                                          const std::string& next, const std::string& client) {
  if (int64_t wait = ss_reset_limit_.take(client); wait > 0) {
    Error e = make_error("rate_limited", "Too many attempts. Try again later.");
    e.retry_after_s = static_cast<int>(wait);
    return e;
  }
  const SelfServiceSettings ss = self_service();
  if (!ss.enabled)
    return make_error("self_service_disabled", "Self-service password reset is turned off here.");
  const std::string username = ascii_lower(username_in);
  if (code.size() != 8 || code.find_first_not_of("0123456789") != std::string::npos) return invalid_code();
  std::optional<UserRecord> u;
  std::optional<storage::CodeRecord> c;
  store_.read([&](storage::Reader& r) {
    if (valid_username(username)) u = r.user_by_username(username);
    if (u) c = r.latest_code(u->id);
  });
  const int64_t now = clock_.now();
  if (!u || !c || u->disabled) return invalid_code();
  if (is_admin(parse_role(u->role).value_or(Role::User)) && !ss.admins_enabled) return invalid_code();
  if (c->expires_at <= now)
    return make_error("code_expired", "This code has expired. Ask for a new one.", "code");
  if (c->tries >= kCodeTries)
    return make_error("too_many_tries", "Too many wrong codes. Ask for a new one.", "code");
  if (!crypto::equal_ct(c->code_mac, code_mac(u->id, code))) {
    bool exhausted = false;
    store_.write([&](storage::Writer& w) {
      auto cur = w.latest_code(u->id);
      if (!cur || cur->id != c->id) return;
      cur->tries += 1;
      if (cur->tries >= kCodeTries) {
        cur->used_at = now;
        exhausted = true;
      }
      w.update_code(*cur);
      audit(w, "-", client, "self_service_reset", u->username, "failed",
            "wrong code, try " + std::to_string(cur->tries));
    });
    if (exhausted) return make_error("too_many_tries", "Too many wrong codes. Ask for a new one.", "code");
    return invalid_code();
  }
  PolicyResult pr = check_password(next, {u->username, u->email, u->display_name}, policy());
  if (!pr.ok) return make_error(pr.reasons.front(), "The new password does not meet the policy.", "new_password");
  if (!u->directory_id.empty() && directory_mode()) {
    auto st = directory_set_password(*u, next, "self_service_reset", client,
                                     [&](storage::Writer& w, UserRecord& user) {
      set_password(user, "", false, std::nullopt, now);
      w.update_user(user);
      revoke_credentials(w, user.id, now);  // also uses up this code
      if (!user.email.empty()) {
        auto m = make_message(user, "notice", user.email,
                              {{"username", user.username}, {"display_name", display_or_username(user)},
                               {"actor", user.username + " (self-service)"}, {"when", rfc3339(now)}},
                              std::nullopt);
        w.insert_outbox(m);
      }
      audit(w, user.username, client, "self_service_reset", user.username, "ok", "directory");
    });
    if (!st) return st.error();
    account_failures_.clear(u->username);
    notify_outbox();
    return ok_status();
  }
  auto h = hash_password(next);
  if (!h) return h.error();
  std::optional<Error> err;
  store_.write([&](storage::Writer& w) {
    auto cur = w.latest_code(u->id);  // single use, also under races
    if (!cur || cur->id != c->id) {
      err = invalid_code();
      return;
    }
    auto user = w.user_by_id(u->id);
    if (!user) {
      err = invalid_code();
      return;
    }
    set_password(*user, h.value(), false, std::nullopt, now);
    w.update_user(*user);
    revoke_credentials(w, user->id, now);  // also uses up this code
    if (!user->email.empty()) {
      auto m = make_message(*user, "notice", user->email,
                            {{"username", user->username}, {"display_name", display_or_username(*user)},
                             {"actor", user->username + " (self-service)"}, {"when", rfc3339(now)}},
                            std::nullopt);
      w.insert_outbox(m);
    }
    audit(w, user->username, client, "self_service_reset", user->username, "ok");
  });
  if (err) return *err;
  account_failures_.clear(u->username);
  notify_outbox();
  return ok_status();
}

}  // namespace resetd::accounts
