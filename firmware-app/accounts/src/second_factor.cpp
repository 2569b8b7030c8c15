// AccountService: the second factor of an account (issue 23) — TOTP
// enrolment, recovery codes, the second step of a sign-in, break-glass.
#include <algorithm>

#include "credentials.h"
#include "second_factor_codes.h"
#include "resetd/accounts/service.h"
#include "resetd/accounts/text.h"
#include "resetd/crypto/totp.h"

namespace resetd::accounts {

using storage::SecondFactorRecord;
using storage::UserRecord;

using sf::codes_left;
using sf::normalize_recovery;
using sf::six_digits;

namespace {
constexpr size_t kMaxPending = 1000;
constexpr const char* kIssuer = "resetd";

Error invalid_code(const char* field) {
  return make_error("invalid_second_factor", "The code is incorrect or was already used.", field);
}
}  // namespace

std::string AccountService::start_pending(const PasswordCheck& checked, const std::string& client,
                                          const std::string& user_agent) {
  const std::string token = crypto::random_token(32);
  const int64_t mono = clock_.mono_ms();
  std::lock_guard<std::mutex> lock(pending_mu_);
  std::erase_if(pending_, [mono](const auto& kv) { return kv.second.expires_ms <= mono; });
  while (pending_.size() >= kMaxPending) {
    auto oldest = std::min_element(pending_.begin(), pending_.end(), [](const auto& a, const auto& b) {
      return a.second.expires_ms < b.second.expires_ms;
    });
    pending_.erase(oldest);
  }
  PendingSignIn p{checked, client, user_agent, mono + kPendingS * 1000, 0, std::nullopt};
  p.checked.user.password_hash.clear();  // not needed for the second step; not kept in memory
  pending_.emplace(crypto::sha256_hex(token), std::move(p));
  return token;
}

Result<SignIn> AccountService::sign_in_second_factor(const std::string& pending, const std::string& code,
                                                     const std::string& recovery_code,
                                                     const std::string& client) {
  if (pending.empty() || pending.size() > 128) return sign_in_expired();
  const std::string key = crypto::sha256_hex(pending);
  std::optional<PendingSignIn> p;
  {
    std::lock_guard<std::mutex> lock(pending_mu_);
    auto it = pending_.find(key);
    if (it != pending_.end() && it->second.expires_ms <= clock_.mono_ms()) {
      pending_.erase(it);
      it = pending_.end();
    }
    // Bound to the address that typed the password.
    if (it != pending_.end() && it->second.client == client) p = it->second;
  }
  if (!p) return sign_in_expired();
  const bool use_totp = !code.empty();
  if (use_totp && !six_digits(code)) return invalid_code("code");
  const std::string recovery = use_totp ? std::string() : normalize_recovery(recovery_code);
  if (!use_totp && recovery.empty()) return invalid_code("recovery_code");

  const std::string& username = p->checked.user.username;
  const int64_t uid = p->checked.user.id;
  // The same counters as the password step: per client, and consecutive
  // failures per account with its delays and lockout.
  auto attempt = take_attempt(client_failures_, account_failures_, client, username);
  if (!attempt) return attempt.error();
  const auto slot = *attempt;
  const int64_t now = clock_.now();
  bool ok = false;
  std::string detail;
  if (use_totp) {
    store_.write([&](storage::Writer& w) {
      auto f = w.second_factor(uid);
      if (!f || !f->confirmed_at) {
        detail = "second factor: none enrolled any more";
        return;
      }
      ok = use_totp_code(w, *f, code, now, detail);
    });
  } else {
    std::optional<SecondFactorRecord> f;
    store_.read([&](storage::Reader& r) { f = r.second_factor(uid); });
    std::optional<size_t> match;
    const size_t idx = static_cast<size_t>(recovery[0] - '0');
    const bool usable = f && f->confirmed_at && idx < f->recovery.size() && f->recovery[idx] != "-";
    // A used or unknown slot costs the same one verification.
    auto v = hasher_.verify(usable ? f->recovery[idx] : dummy_hash_, recovery);
    if (!v) {
      give_back_attempt(client_failures_, account_failures_, client, username, slot);
      return busy_error();
    }
    if (usable && *v) match = idx;
    if (match) {
      store_.write([&](storage::Writer& w) {
        auto cur = w.second_factor(uid);
        // Used by a parallel request in the meantime: not again.
        if (!cur || !cur->confirmed_at || cur->recovery.size() <= *match ||
            cur->recovery[*match] != f->recovery[*match])
          return;
        cur->recovery[*match] = "-";
        w.put_second_factor(*cur);
        ok = true;
        detail = "second factor: recovery code (" + std::to_string(codes_left(*cur)) + " left)";
      });
    }
    if (!ok) detail = "second factor: wrong recovery code";
  }
  if (!ok)
    return second_step_failed(key, uid, username, client, slot, now, detail,
                              invalid_code(use_totp ? "code" : "recovery_code"));
  client_failures_.give_back(client);
  {
    // Single use: a second request with the same token finds nothing.
    std::lock_guard<std::mutex> lock(pending_mu_);
    if (pending_.erase(key) == 0) return sign_in_expired();
  }
  return finish_sign_in(p->checked, client, p->user_agent, detail);
}

bool AccountService::use_totp_code(storage::Writer& w, SecondFactorRecord& f, const std::string& code,
                                   int64_t now, std::string& detail) {
  if (!six_digits(code)) {
    detail = "second factor: wrong TOTP code";
    return false;
  }
  auto secret = box_.open_hex(f.totp_sealed);
  if (!secret) {  // the key file changed: nobody gets in by this factor
    detail = "second factor: TOTP secret does not open with the data dir's key";
    return false;
  }
  auto step = crypto::totp_match(*secret, code, crypto::totp_step(now));
  if (!step || *step <= f.last_step) {
    detail = step ? "second factor: TOTP code already used" : "second factor: wrong TOTP code";
    return false;
  }
  f.last_step = *step;
  w.put_second_factor(f);
  detail = "second factor: totp";
  return true;
}

Error AccountService::second_step_failed(const std::string& pending_key, int64_t uid, const std::string& username,
                                         const std::string& client, const SignInThrottle::Reservation& slot,
                                         int64_t now, const std::string& detail, Error err) {
  {
    std::lock_guard<std::mutex> lock(pending_mu_);
    auto it = pending_.find(pending_key);
    if (it != pending_.end() && ++it->second.tries >= kPendingTries) pending_.erase(it);
  }
  store_.write([&](storage::Writer& w) {
    auto cur = w.user_by_id(uid);
    if (!cur) return;
    cur->failed_logins = slot.failures;
    cur->last_failed_at = now;
    if (slot.locked) cur->locked_until = now + kLockoutS;
    w.update_user(*cur);
    audit(w, username, client, "sign_in", username, "failed", slot.locked ? detail + "; locked out" : detail);
  });
  return err;
}

Result<SecondFactorState> AccountService::second_factor_state(const Actor& a) {
  std::optional<SecondFactorRecord> f;
  std::vector<storage::SecurityKeyRecord> keys;
  store_.read([&](storage::Reader& r) {
    f = r.second_factor(a.user_id);
    keys = r.security_keys(a.user_id);
  });
  SecondFactorState s;
  for (const auto& k : keys) s.security_keys.push_back({k.id, k.name, k.rp_id, k.created_at, k.last_used_at});
  if (f) {
    s.totp = f->confirmed_at.has_value();
    s.enrolling = !f->confirmed_at;
    s.recovery_codes_left = codes_left(*f);
  }
  s.policy = settings_.second_factor.rule(a.role);
  return s;
}

Result<TotpEnrolment> AccountService::begin_totp(const Actor& a, const std::optional<std::string>& password,
                                                 const std::string& code, const std::string& recovery_code) {
  // A borrowed session must not tie the account to someone else's phone (and,
  // since enrolling ends the other sessions, lock its owner out): the owner's
  // password first, a directory user's checked with a bind to the directory.
  std::optional<UserRecord> u;
  std::optional<SecondFactorRecord> f;
  store_.read([&](storage::Reader& r) {
    u = r.user_by_id(a.user_id);
    f = r.second_factor(a.user_id);
  });
  if (!u) return make_error("not_signed_in", "Sign in first.");
  if (settings_.second_factor.rule(a.role) == FactorRule::Off)
    return make_error("second_factor_off", "The site's policy gives your role no second factor.");
  if (f && f->confirmed_at && (!code.empty() || !recovery_code.empty()))
    return begin_totp_replacement(a, password, code, recovery_code);
  if (auto st = confirm_own_password(a, *u, password, "second_factor_enrol"); !st) {
    if (st.error().code == "current_password_required")
      return make_error("current_password_required", "Enter your current password to set up an authenticator app.",
                        "current_password");
    return st.error();
  }
  const std::string secret = crypto::totp_new_secret();
  const std::string sealed = box_.seal_hex(secret);
  bool enrolled = false;
  store_.write([&](storage::Writer& w) {
    auto now_stored = w.second_factor(a.user_id);
    if (now_stored && now_stored->confirmed_at) {
      enrolled = true;
      return;
    }
    SecondFactorRecord n;
    n.user_id = a.user_id;
    n.totp_sealed = sealed;
    n.created_at = clock_.now();
    w.put_second_factor(n);
    audit(w, a.username, a.client, "second_factor_enrol", a.username, "started", "totp");
  });
  if (enrolled)
    return make_error("second_factor_enrolled",
                      "An authenticator app is already set up for this account. To move it to a new phone, "
                      "send a current code of it (or a recovery code) with your password.",
                      "code");
  return totp_enrolment(a, secret);
}

TotpEnrolment AccountService::totp_enrolment(const Actor& a, const std::string& secret) const {
  TotpEnrolment e;
  e.secret = crypto::base32_encode(secret);
  // Usernames are [a-z0-9._-]: nothing to escape in the label.
  e.uri = std::string("otpauth://totp/") + kIssuer + ":" + a.username + "?secret=" + e.secret + "&issuer=" + kIssuer +
          "&algorithm=SHA1&digits=6&period=30";
  return e;
}

Result<std::vector<std::string>> AccountService::confirm_totp(const Actor& a, const std::string& code) {
  if (!six_digits(code)) return make_error("wrong_totp_code", "Enter the 6-digit code the app shows.", "code");
  // Guesses here are throttled like sign-ins per client (the session's owner
  // saw the secret; this only keeps the route from being a free oracle).
  if (int64_t wait = client_failures_.take(a.client); wait > 0) return too_many_attempts(wait);
  if (auto replaced = confirm_totp_replacement(a, code)) return std::move(*replaced);
  std::optional<SecondFactorRecord> f;
  store_.read([&](storage::Reader& r) { f = r.second_factor(a.user_id); });
  if (!f || f->confirmed_at)
    return make_error("no_enrolment", "Start setting up an authenticator app first.");
  auto secret = box_.open_hex(f->totp_sealed);
  if (!secret) return make_error("no_enrolment", "Start setting up an authenticator app again.");
  auto step = crypto::totp_match(*secret, code, crypto::totp_step(clock_.now()));
  if (!step) return make_error("wrong_totp_code", "The code is incorrect. Check the time on the phone.", "code");
  client_failures_.give_back(a.client);

  std::vector<std::string> codes, hashes;
  if (!sf::make_recovery_codes(hasher_, kRecoveryCodes, codes, hashes)) return busy_error();
  bool done = false;
  store_.write([&](storage::Writer& w) {
    auto cur = w.second_factor(a.user_id);
    // Another enrolment started (or this one finished) in the meantime.
    if (!cur || cur->confirmed_at || cur->totp_sealed != f->totp_sealed) return;
    cur->confirmed_at = clock_.now();
    cur->last_step = *step;  // the confirming code signs nobody in
    cur->recovery = hashes;
    w.put_second_factor(*cur);
    // A session someone else holds does not outlive the new factor.
    const int64_t ended = w.delete_sessions_for_user(a.user_id, a.session_id);
    audit(w, a.username, a.client, "second_factor_enrol", a.username, "ok",
          "totp; " + std::to_string(kRecoveryCodes) + " recovery codes; " + std::to_string(ended) +
              " other sessions ended");
    done = true;
  });
  if (!done) return make_error("no_enrolment", "Start setting up an authenticator app again.");
  return codes;
}

Status AccountService::console_reset_second_factor(const std::string& username_in) {
  const std::string username = ascii_lower(username_in);
  std::optional<UserRecord> u;
  store_.read([&](storage::Reader& r) { u = r.user_by_username(username); });
  if (!u) return make_error("not_found", "No such user: " + username);
  bool removed = false;
  store_.write([&](storage::Writer& w) {
    removed = w.delete_second_factor(u->id);
    const int64_t keys = w.delete_security_keys(u->id, 0);
    std::string what = removed ? "TOTP and recovery codes removed" : "";
    if (keys > 0) what += (what.empty() ? "" : "; ") + std::to_string(keys) + " security keys removed";
    audit(w, "console", "console", "second_factor_reset", username, "ok", what.empty() ? "none was set" : what);
  });
  std::lock_guard<std::mutex> lock(pending_mu_);
  std::erase_if(pending_, [&](const auto& kv) { return kv.second.checked.user.id == u->id; });
  return ok_status();
}

}  // namespace resetd::accounts
