// AccountService: managing one's own second factor (issue 23) — removing the
// app and new recovery codes, each proven by the password and a current code;
// removing one security key, proven by the password.
#include <algorithm>
#include <string_view>

#include "credentials.h"
#include "second_factor_codes.h"
#include "resetd/accounts/service.h"

namespace resetd::accounts {

using storage::SecondFactorRecord;
using storage::UserRecord;

namespace {
// 422, not the sign-in's 401: the session is fine, the field is wrong.
Error wrong_code(const char* field) {
  return make_error("wrong_second_factor", "The code is incorrect or was already used.", field);
}
Error no_factor() {
  return make_error("no_second_factor", "No authenticator app is set up for this account.");
}
}  // namespace

Status AccountService::prove_own_second_factor(const Actor& a, const std::optional<std::string>& password,
                                               const std::string& code, const std::string& recovery_code,
                                               const std::string& action) {
  std::optional<UserRecord> u;
  std::optional<SecondFactorRecord> f;
  store_.read([&](storage::Reader& r) {
    u = r.user_by_id(a.user_id);
    if (u) f = r.second_factor(u->id);
  });
  if (!u) return make_error("not_signed_in", "Sign in first.");
  if (!f || !f->confirmed_at) return no_factor();
  const bool use_totp = !code.empty();
  if (use_totp == !recovery_code.empty())
    return make_error("second_factor_code_required", "Enter a code from the app or a recovery code.", "code");
  // The password first: a session left open is not enough.
  if (u->directory_id.empty() || !directory_mode()) {
    if (auto st = confirm_own_password(a, *u, password, action); !st) {
      if (st.error().code == "current_password_required")
        return make_error("current_password_required", "Enter your current password.", "current_password");
      return st.error();
    }
  }
  const char* field = use_totp ? "code" : "recovery_code";
  const std::string recovery = use_totp ? std::string() : sf::normalize_recovery(recovery_code);
  if (use_totp ? !sf::six_digits(code) : recovery.empty()) return wrong_code(field);
  // Guesses count on the sign-in counters: delays, then the lockout.
  auto attempt = take_attempt(client_failures_, account_failures_, a.client, u->username);
  if (!attempt) return attempt.error();
  const auto slot = *attempt;
  const int64_t now = clock_.now();
  bool ok = false;
  std::string detail;
  // Password and factor both proven, as at a full sign-in: the run of failures
  // ends, in the same write as the code is used up (the stored count too, which
  // a later sign-in would otherwise re-arm the counter from).
  const auto end_run = [&](storage::Writer& w) {
    auto cur = w.user_by_id(a.user_id);
    if (cur && (cur->failed_logins != 0 || cur->locked_until)) {
      clear_failures(*cur);
      w.update_user(*cur);
    }
  };
  if (use_totp) {
    store_.write([&](storage::Writer& w) {
      auto cur = w.second_factor(a.user_id);
      if (!cur || !cur->confirmed_at) return;
      // Used up: not again, here or at a sign-in (the step is shared).
      ok = use_totp_code(w, *cur, code, now, detail);
      if (ok) end_run(w);
    });
    // This audit row names its action already: "wrong TOTP code", not "second factor: ...".
    constexpr std::string_view kPrefix = "second factor: ";
    if (ok) detail.clear();
    else if (detail.starts_with(kPrefix)) detail.erase(0, kPrefix.size());
  } else {
    const size_t idx = static_cast<size_t>(recovery[0] - '0');
    const bool usable = idx < f->recovery.size() && f->recovery[idx] != "-";
    auto v = hasher_.verify(usable ? f->recovery[idx] : dummy_hash_, recovery);
    if (!v) {
      give_back_attempt(client_failures_, account_failures_, a.client, u->username, slot);
      return busy_error();
    }
    if (usable && *v) {
      store_.write([&](storage::Writer& w) {
        auto cur = w.second_factor(a.user_id);
        if (!cur || !cur->confirmed_at || cur->recovery.size() <= idx || cur->recovery[idx] != f->recovery[idx])
          return;
        cur->recovery[idx] = "-";
        w.put_second_factor(*cur);
        ok = true;
        end_run(w);
      });
    }
    if (!ok) detail = "wrong recovery code";
  }
  if (!ok) {
    store_.write([&](storage::Writer& w) {
      auto cur = w.user_by_id(a.user_id);
      if (!cur) return;
      cur->failed_logins = slot.failures;
      cur->last_failed_at = now;
      if (slot.locked) cur->locked_until = now + kLockoutS;
      w.update_user(*cur);
      audit(w, a.username, a.client, action, a.username, "failed",
            slot.locked ? detail + "; locked out" : detail);
    });
    return wrong_code(field);
  }
  account_failures_.clear(u->username);  // end_run above; a right password alone only releases
  client_failures_.give_back(a.client);
  return ok_status();
}

Status AccountService::remove_own_second_factor(const Actor& a, const std::optional<std::string>& current_password,
                                                const std::string& code, const std::string& recovery_code) {
  // Checked before any proof, and again by the role the account has when
  // it is removed: a required factor is replaced, never dropped (a security
  // key left on the account keeps it covered).
  size_t keys = 0;
  store_.read([&](storage::Reader& r) { keys = r.security_keys(a.user_id).size(); });
  if (settings_.second_factor.required(a.role) && keys == 0)
    return make_error("second_factor_required_by_policy",
                      "The site requires a second factor for your role: set up a new app to replace it instead.");
  if (auto st = prove_own_second_factor(a, current_password, code, recovery_code, "second_factor_remove"); !st)
    return st;
  bool refused = false;
  store_.write([&](storage::Writer& w) {
    auto u = w.user_by_id(a.user_id);
    if (!u || (settings_.second_factor.required(parse_role(u->role).value_or(Role::User)) &&
               w.security_keys(a.user_id).empty())) {
      refused = true;
      return;
    }
    w.delete_second_factor(a.user_id);
    const int64_t ended = w.delete_sessions_for_user(a.user_id, a.session_id);
    audit(w, a.username, a.client, "second_factor_remove", a.username, "ok",
          "TOTP and recovery codes removed; " + std::to_string(ended) + " other sessions ended");
  });
  if (refused)
    return make_error("second_factor_required_by_policy",
                      "The site requires a second factor for your role: set up a new app to replace it instead.");
  return ok_status();
}

Status AccountService::remove_security_key(const Actor& a, const std::optional<std::string>& current_password,
                                           int64_t key_id) {
  std::optional<UserRecord> u;
  bool found = false;
  store_.read([&](storage::Reader& r) {
    u = r.user_by_id(a.user_id);
    if (u) {
      const auto keys = r.security_keys(a.user_id);
      found = std::any_of(keys.begin(), keys.end(), [&](const auto& k) { return k.id == key_id; });
    }
  });
  if (!u) return make_error("not_signed_in", "Sign in first.");
  // Only one's own keys: another account's id answers as an unknown one.
  if (!found) return make_error("not_found", "No such security key on this account.");
  // As for adding one: a session left open is not enough.
  if (auto st = confirm_own_password(a, *u, current_password, "second_factor_remove"); !st) {
    if (st.error().code == "current_password_required")
      return make_error("current_password_required", "Enter your current password to remove a security key.",
                        "current_password");
    return st.error();
  }
  std::optional<Error> err;
  store_.write([&](storage::Writer& w) {
    // Decided again inside the write: the role, the app and the keys as they are now.
    auto cur = w.user_by_id(a.user_id);
    const auto keys = w.security_keys(a.user_id);
    const auto it = std::find_if(keys.begin(), keys.end(), [&](const auto& k) { return k.id == key_id; });
    if (!cur || it == keys.end()) {
      err = make_error("not_found", "No such security key on this account.");
      return;
    }
    const auto f = w.second_factor(a.user_id);
    const bool totp = f && f->confirmed_at;
    if (settings_.second_factor.required(parse_role(cur->role).value_or(Role::User)) && !totp && keys.size() == 1) {
      err = make_error("last_required_factor",
                       "This is your last second factor and your role requires one: add another security key or "
                       "an authenticator app first.");
      audit(w, a.username, a.client, "second_factor_remove", a.username, "failed",
            "security key \"" + it->name + "\": the role's last required factor");
      return;
    }
    w.delete_security_keys(a.user_id, key_id);
    const int64_t ended = w.delete_sessions_for_user(a.user_id, a.session_id);
    audit(w, a.username, a.client, "second_factor_remove", a.username, "ok",
          "security key \"" + it->name + "\" for " + it->rp_id + "; " + std::to_string(ended) +
              " other sessions ended");
  });
  if (err) return *err;
  return ok_status();
}

Result<std::vector<std::string>> AccountService::regenerate_recovery_codes(
    const Actor& a, const std::optional<std::string>& current_password, const std::string& code,
    const std::string& recovery_code) {
  if (auto st = prove_own_second_factor(a, current_password, code, recovery_code, "recovery_codes_renew"); !st)
    return st.error();
  std::vector<std::string> codes, hashes;
  if (!sf::make_recovery_codes(hasher_, kRecoveryCodes, codes, hashes)) return busy_error();
  bool done = false;
  store_.write([&](storage::Writer& w) {
    auto cur = w.second_factor(a.user_id);
    if (!cur || !cur->confirmed_at) return;
    cur->recovery = hashes;  // the old ten stop working
    w.put_second_factor(*cur);
    audit(w, a.username, a.client, "recovery_codes_renew", a.username, "ok",
          std::to_string(kRecoveryCodes) + " new recovery codes; the old ones no longer work");
    done = true;
  });
  if (!done) return no_factor();
  return codes;
}

}  // namespace resetd::accounts
