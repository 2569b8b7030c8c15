// AccountService: sign-in, throttling, sessions, changing one's own password.
#include <filesystem>

#include "resetd/accounts/service.h"
#include "credentials.h"
#include "resetd/accounts/text.h"

namespace resetd::accounts {

using storage::SessionRecord;
using storage::UserRecord;

namespace {
// Sessions whose reads authenticate() keeps; past this many it starts over.
constexpr size_t kAuthCacheSize = 64;
}  // namespace

Result<AccountService::PasswordCheck> AccountService::check_sign_in(
    const std::string& username, const std::string& password, const std::string& client,
    const std::string& throttle_key, const std::string& context) {
  // The client's attempt is taken (and given back when the password is right)
  // before the verification, so parallel attempts can't all pass the check.
  if (int64_t wait = client_failures_.take(throttle_key); wait > 0) return too_many_attempts(wait);

  std::optional<UserRecord> u;
  store_.read([&](storage::Reader& r) { u = r.user_by_username(username); });
  const int64_t now = clock_.now();

  if (u) {
    // After a restart the in-memory throttle is empty: re-arm what the
    // database remembers (a lockout for at most its own length).
    const int64_t locked_for = u->locked_until ? *u->locked_until - now : 0;
    account_failures_.seed(username, u->failed_logins, locked_for);
  }
  // Reserved under the throttle's lock before verifying: 40 parallel guesses
  // get no more verifications than 40 sequential ones.
  auto attempt = reserve_attempt(client_failures_, account_failures_, throttle_key, username);
  if (!attempt) return attempt.error();
  const auto slot = *attempt;

  // A directory user signs in with a simple bind over TLS; the directory
  // decides (including "must change" and its own lockout).
  const bool dir_user = u && !u->directory_id.empty() && directory_mode();
  std::optional<directory::Answer> dans;
  std::optional<std::string> dir_role;
  const bool can_sign_in = u && !u->disabled && (dir_user || !u->password_hash.empty());
  std::optional<bool> ok;
  if (dir_user && can_sign_in) {
    auto d = directory();
    dans = d->bind_check(u->directory_dn, password);
    if (dans->outcome == directory::Outcome::Unavailable) {
      // No answer from the directory is not a failed guess.
      give_back_attempt(client_failures_, account_failures_, throttle_key, username, slot);
      return directory_error(*dans);
    }
    ok = dans->outcome == directory::Outcome::Ok || dans->outcome == directory::Outcome::MustChange;
    if (*ok && !d->config().roles.empty()) {
      // Staff roles come from group membership ([directory.roles]).
      std::vector<std::string> groups;
      if (d->member_of(u->directory_dn, &groups).ok()) dir_role = role_from_groups(d->config(), groups);
    }
  } else {
    // Unknown, disabled and password-less accounts cost one verification too.
    ok = hasher_.verify(can_sign_in && !dir_user ? u->password_hash : dummy_hash_, nfc(password));
  }
  if (!ok) {
    give_back_attempt(client_failures_, account_failures_, throttle_key, username, slot);
    return busy_error();
  }
  if (!can_sign_in || !*ok) {
    const int failures = slot.failures;
    const bool locked = slot.locked;
    if (!u) {
      // The typed name is not recorded: an unknown "username" is often a
      // password typed into the wrong field.
      store_.write([&](storage::Writer& w) {
        audit(w, "-", client, "sign_in", "(unknown user)", "failed", with_context("unknown username", context));
      });
    }
    if (u) {
      store_.write([&](storage::Writer& w) {
        auto cur = w.user_by_id(u->id);
        if (!cur) return;
        // Kept for the admin's view ("locked"), the unlock, and restarts.
        cur->failed_logins = failures;
        cur->last_failed_at = now;
        if (locked) cur->locked_until = now + kLockoutS;
        w.update_user(*cur);
        std::string detail = !can_sign_in ? (u->disabled ? "account disabled" : "no password set")
                                          : (locked ? "locked out" : "");
        if (dans) detail = "directory: " + dans->text;
        audit(w, username, client, "sign_in", username, "failed", with_context(detail, context));
      });
    }
    return bad_credentials();
  }

  client_failures_.give_back(throttle_key);
  // A directory user's expired temporary password is refused too, unless the
  // user has changed it at the directory since (then it is no longer the temporary one).
  if (u->temp_expires_at && *u->temp_expires_at <= now && (!dir_user || expired_temp_still_current(*u))) {
    account_failures_.release(username, slot);  // the right password: not a failed guess
    store_.write([&](storage::Writer& w) {
      audit(w, username, client, "sign_in", username, "failed",
            with_context("temporary password expired", context));
    });
    return make_error("temporary_password_expired",
                      "This temporary password has expired. Ask IT to reset it again.");
  }

  PasswordCheck out{*u, std::nullopt, std::nullopt, dir_role, slot};
  if (dans) out.dir_must_change = dans->outcome == directory::Outcome::MustChange;
  if (!dir_user && hasher_.needs_rehash(u->password_hash)) {
    if (auto h = hasher_.hash(nfc(password))) out.rehash = *h;
  }
  return out;
}

Result<SignIn> AccountService::sign_in(const std::string& username_in, const std::string& password,
                                       const std::string& client, const std::string& user_agent) {
  const std::string username = ascii_lower(username_in);
  auto checked = check_sign_in(username, password, client, client);
  if (!checked) return checked.error();
  std::optional<storage::SecondFactorRecord> f;
  bool keys = false;
  store_.read([&](storage::Reader& r) {
    f = r.second_factor(checked->user.id);
    keys = !r.security_keys(checked->user.id).empty();
  });
  const bool totp = f && f->confirmed_at;
  if (totp || keys) {
    // The password alone yields no session: the right password is not a
    // failed guess, but it does not end a run of failures either (the
    // second step's wrong codes count on the same counter).
    account_failures_.release(username, checked->slot);
    SignIn out;
    out.user = checked->user;
    out.pending_token = start_pending(*checked, client, user_agent);
    if (totp) out.methods = {"totp", "recovery_code"};
    if (keys) out.methods.push_back("security_key");
    store_.write([&](storage::Writer& w) {
      audit(w, username, client, "sign_in", username, "pending", "password ok; second factor required");
    });
    return out;
  }
  return finish_sign_in(*checked, client, user_agent, "");
}

Result<SignIn> AccountService::finish_sign_in(const PasswordCheck& checked, const std::string& client,
                                              const std::string& user_agent, const std::string& how) {
  const std::string& username = checked.user.username;
  const std::optional<std::string>& rehash = checked.rehash;
  const UserRecord* u = &checked.user;
  const int64_t now = clock_.now();

  const ExpirationSettings expiry = expiration();  // read before the write below
  SignIn out;
  out.token = crypto::random_token(32);
  SessionRecord s;
  s.token_hash = crypto::sha256_hex(forward_token_for(out.token));
  s.created_at = now;
  s.expires_at = now + kSessionAbsoluteS;
  s.client_addr = client;
  s.user_agent = user_agent.substr(0, 200);
  account_failures_.clear(username);
  bool found = false;
  store_.write([&](storage::Writer& w) {
    auto cur = w.user_by_id(u->id);
    if (!cur || cur->disabled) return;
    // The password alone never opens a session of an account with a factor
    // (one confirmed between sign_in()'s look and this write included).
    const auto f = w.second_factor(cur->id);
    const bool has_factor = (f && f->confirmed_at) || !w.security_keys(cur->id).empty();
    if (how.empty() && has_factor) return;
    found = true;
    clear_failures(*cur);
    if (rehash) cur->password_hash = *rehash;
    // a directory user: "must change" and the staff role are the directory's
    if (checked.dir_must_change) cur->must_change = *checked.dir_must_change;
    if (checked.dir_role) apply_directory_role(w, *cur, *checked.dir_role, username, client);
    w.update_user(*cur);
    s.user_id = cur->id;
    s.must_change = cur->must_change ||
                    (!expiry.never_expires && !cur->must_change && cur->password_changed_at &&
                     *cur->password_changed_at + int64_t{expiry.days} * 86400 <= now);
    s.id = w.insert_session(s);
    std::string detail = rehash ? "rehashed" : "";
    if (!how.empty()) detail = detail.empty() ? how : how + "; " + detail;
    out.second_factor_missing =
        !has_factor && settings_.second_factor.required(parse_role(cur->role).value_or(Role::User));
    if (out.second_factor_missing)
      detail = detail.empty() ? "second factor required: enrolment only" : detail + "; second factor required: enrolment only";
    audit(w, username, client, "sign_in", username, "ok", detail);
    out.user = *cur;
  });
  if (!found) return bad_credentials();
  out.session = s;
  out.must_change = s.must_change;
  touch(s.id);
  return out;
}

void AccountService::touch(int64_t session_id) {
  std::lock_guard<std::mutex> lock(idle_mu_);
  last_activity_ms_[session_id] = clock_.mono_ms();
}

// The session token S is the cookie resetd's own host gets; the forward-auth
// token F = SHA-256("resetd forward-auth\n" + S) the cookie for sibling hosts;
// the row stores SHA-256(F). So one row (one lifetime, one revocation) answers
// both, F cannot be turned back into S (nor into the CSRF token, a MAC of
// SHA-256(S)), and F sent where S belongs hashes to no row.
std::string AccountService::forward_token_for(const std::string& session_token) {
  return crypto::sha256_hex("resetd forward-auth\n" + session_token);
}

std::optional<Actor> AccountService::authenticate(const std::string& token,
                                                  const std::string& client, bool activity) {
  if (token.empty() || token.size() > 128) return std::nullopt;
  return authenticate_hash(crypto::sha256_hex(forward_token_for(token)), client, activity);
}

std::optional<Actor> AccountService::authenticate_forward(const std::string& token,
                                                          const std::string& client, bool activity) {
  if (token.size() != 64 || token.find_first_not_of("0123456789abcdef") != std::string::npos)
    return std::nullopt;
  return authenticate_hash(crypto::sha256_hex(token), client, activity);
}

std::optional<Actor> AccountService::authenticate_hash(const std::string& h, const std::string& client,
                                                       bool activity) {
  std::optional<SessionRecord> s;
  std::optional<UserRecord> u;
  bool factor = false;
  std::string factors;
  const uint64_t gen = store_.data_generation();  // before the read it may stand for
  {
    std::lock_guard<std::mutex> lock(auth_mu_);
    auto it = auth_cache_.find(h);
    if (it != auth_cache_.end() && it->second.generation == gen) {
      s = it->second.session;
      u = it->second.user;
      factor = it->second.second_factor;
      factors = it->second.factors;
    }
  }
  if (!s) {
    store_.read([&](storage::Reader& r) {
      s = r.session_by_token_hash(h);
      if (s) u = r.user_by_id(s->user_id);
      if (u) {
        auto f = r.second_factor(u->id);
        const bool totp = f && f->confirmed_at;
        const bool keys = !r.security_keys(u->id).empty();
        factor = totp || keys;
        factors = totp && keys ? "totp,webauthn" : totp ? "totp" : keys ? "webauthn" : "";
      }
    });
    if (s && u) {
      std::lock_guard<std::mutex> lock(auth_mu_);
      if (auth_cache_.size() >= kAuthCacheSize) auth_cache_.clear();
      SessionHit& hit = auth_cache_[h];
      hit.generation = gen;
      hit.session = *s;
      hit.user = *u;
      hit.user.password_hash.clear();
      hit.second_factor = factor;
      hit.factors = factors;
    }
  }
  if (!s || !u || u->disabled) return std::nullopt;
  if (s->expires_at <= clock_.now()) return std::nullopt;
  {
    std::lock_guard<std::mutex> lock(idle_mu_);
    auto it = last_activity_ms_.find(s->id);
    // Idle time lives in memory only: after a restart every session is idle.
    if (it == last_activity_ms_.end()) return std::nullopt;
    const int64_t mono = clock_.mono_ms();
    if (mono - it->second > kSessionIdleMs) {
      last_activity_ms_.erase(it);
      return std::nullopt;
    }
    if (activity) it->second = mono;
  }
  Actor a;
  a.user_id = u->id;
  a.username = u->username;
  a.display_name = u->display_name;
  a.email = u->email;
  a.role = parse_role(u->role).value_or(Role::User);
  a.session_id = s->id;
  a.must_change = u->must_change || password_expired(*u, clock_.now());
  a.second_factor = factor;
  a.factors = factors;
  a.second_factor_missing = !factor && settings_.second_factor.required(a.role);
  a.client = client;
  a.generation = gen;
  return a;
}

std::string AccountService::csrf_token_for(const std::string& token) const {
  return box_.mac_hex("csrf\n" + crypto::sha256_hex(token)).substr(0, 43);
}

Status AccountService::sign_out(const Actor& a) {
  store_.write([&](storage::Writer& w) {
    w.delete_session(a.session_id);
    audit(w, a.username, a.client, "sign_out", a.username, "ok");
  });
  std::lock_guard<std::mutex> lock(idle_mu_);
  last_activity_ms_.erase(a.session_id);
  return ok_status();
}

Status AccountService::confirm_own_password(const Actor& a, const UserRecord& u,
                                            const std::optional<std::string>& password,
                                            const std::string& action) {
  if (!password || password->empty())
    return make_error("current_password_required",
                      "Enter your current password to change your own email addresses.",
                      "current_password");
  // Throttled like a sign-in, on the same counters: a borrowed session can't
  // guess the owner's password here faster than at the sign-in page.
  auto attempt = take_attempt(client_failures_, account_failures_, a.client, u.username);
  if (!attempt) return attempt.error();
  const auto slot = *attempt;
  // A directory user's password is the directory's: a bind checks it, as at
  // sign-in (no local hash to compare, and none to skip the check for).
  std::optional<bool> ok;
  std::optional<directory::Answer> dans;
  if (!u.directory_id.empty() && directory_mode()) {
    dans = directory()->bind_check(u.directory_dn, *password);
    if (dans->outcome == directory::Outcome::Unavailable) {  // no answer is not a failed guess
      give_back_attempt(client_failures_, account_failures_, a.client, u.username, slot);
      return directory_error(*dans);
    }
    ok = dans->outcome == directory::Outcome::Ok || dans->outcome == directory::Outcome::MustChange;
  } else {
    ok = hasher_.verify(u.password_hash, nfc(*password));
  }
  if (!ok) {
    give_back_attempt(client_failures_, account_failures_, a.client, u.username, slot);
    return busy_error();
  }
  if (!*ok) {
    store_.write([&](storage::Writer& w) {
      audit(w, a.username, a.client, action, u.username, "failed",
            "wrong current password" + (dans ? "; directory: " + dans->text : std::string()));
    });
    return make_error("wrong_current_password", "The current password is incorrect.",
                      "current_password");
  }
  // The right password is not a failed guess. Whether it ends the account's
  // run of failures depends on what else proves the account: with a second
  // factor it is half a proof, and the run ends only when the factor is proven
  // too (a full sign-in, prove_own_second_factor). A clear here let a borrowed
  // session with the password reset the run before each wrong code of the
  // factor routes, which then never met the delays or the lockout.
  client_failures_.give_back(a.client);
  bool has_factor = false;
  store_.read([&](storage::Reader& r) {
    const auto f = r.second_factor(u.id);
    has_factor = (f && f->confirmed_at) || !r.security_keys(u.id).empty();
  });
  if (has_factor)
    account_failures_.release(u.username, slot);
  else
    account_failures_.clear(u.username);
  return ok_status();
}

Status AccountService::change_own_password(const Actor& a, const std::string& current,
                                           const std::string& next) {
  std::optional<UserRecord> u;
  store_.read([&](storage::Reader& r) { u = r.user_by_id(a.user_id); });
  if (!u) return make_error("not_signed_in", "Sign in first.");
  if (int64_t wait = client_failures_.retry_after(a.client); wait > 0) return too_many_attempts(wait);
  if (!u->directory_id.empty() && directory_mode()) {
    // resetd's policy first, then the directory's (OpenLDAP: exop with the
    // old password as the user; AD: delete old + add new on their behalf).
    PolicyResult pr = check_password(next, {u->username, u->email, u->display_name}, policy());
    if (!pr.ok) return make_error(pr.reasons.front(), "The new password does not meet the policy.", "new_password");
    if (nfc(next) == nfc(current))
      return make_error("password_same_as_current", "Choose a password different from the current one.",
                        "new_password");
    directory::Answer ans = directory()->change_password(u->directory_dn, current, next);
    if (!ans.ok()) {
      if (ans.outcome == directory::Outcome::WrongPassword) client_failures_.hit(a.client);
      store_.write([&](storage::Writer& w) {
        audit(w, a.username, a.client, "password_change", a.username, "failed", "directory: " + ans.text);
      });
      Error e = directory_error(ans);
      if (e.code == "directory_policy") e.field = "new_password";
      return e;
    }
    store_.write([&](storage::Writer& w) {
      auto cur = w.user_by_id(u->id);
      if (!cur) return;
      set_password(*cur, "", false, std::nullopt, clock_.now());
      w.update_user(*cur);
      w.delete_sessions_for_user(cur->id, a.session_id);
      w.supersede_secret_messages(cur->id);
      w.invalidate_link_tokens(cur->id, clock_.now());
      w.invalidate_codes(cur->id, clock_.now());
      audit(w, a.username, a.client, "password_change", a.username, "ok", "directory");
    });
    return ok_status();
  }
  auto ok = hasher_.verify(u->password_hash, nfc(current));
  if (!ok) return busy_error();
  if (!*ok) {
    client_failures_.hit(a.client);
    return make_error("wrong_current_password", "The current password is incorrect.",
                      "current_password");
  }
  PolicyResult pr = check_password(next, {u->username, u->email, u->display_name}, policy());
  if (!pr.ok) return make_error(pr.reasons.front(), "The new password does not meet the policy.", "new_password");
  if (nfc(next) == nfc(current))
    return make_error("password_same_as_current", "Choose a password different from the current one.",
                      "new_password");
  auto h = hash_password(next);
  if (!h) return h.error();
  bool initial_admin = false;
  store_.write([&](storage::Writer& w) {
    auto cur = w.user_by_id(u->id);
    if (!cur) return;
    initial_admin = cur->must_change && !cur->temp_expires_at && cur->role == "global_admin";
    set_password(*cur, h.value(), false, std::nullopt, clock_.now());
    w.update_user(*cur);
    // other sessions end; this one continues, no longer restricted
    // (a session's restriction is derived from the user row)
    w.delete_sessions_for_user(cur->id, a.session_id);
    w.supersede_secret_messages(cur->id);
    w.invalidate_link_tokens(cur->id, clock_.now());
    w.invalidate_codes(cur->id, clock_.now());
    audit(w, a.username, a.client, "password_change", a.username, "ok");
  });
  if (initial_admin && !settings_.data_dir.empty()) {
    std::error_code ec;
    std::filesystem::remove(std::filesystem::path(settings_.data_dir) / "initial-admin-password", ec);
  }
  return ok_status();
}

}  // namespace resetd::accounts
