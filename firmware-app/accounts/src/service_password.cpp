// AccountService: the password check for the appliance's other programs (PAM
// through `resetd auth-check`): the web sign-in's rules, no session.
#include "credentials.h"
#include "resetd/accounts/service.h"
#include "resetd/accounts/text.h"

namespace resetd::accounts {

using storage::UserRecord;

namespace {
constexpr size_t kTotpDigits = 6;  // the code typed after the password
}  // namespace

Result<UserRecord> AccountService::check_service_password(const std::string& username_in,
                                                         const std::string& password,
                                                         const std::string& client,
                                                         const std::string& throttle_key,
                                                         const std::string& detail) {
  // PAM hands the name to the OS too: "ROOT" or "Alice" would be resetd's
  // "root"/"alice" but another (or no) account there. Refused, like a name
  // the OS keeps for itself, before any password is checked: neither is a
  // guess at a resetd password (no account failure), but each costs the
  // client an attempt, which also bounds the audit rows it can write.
  std::optional<Error> refused;
  std::string why;
  if (username_in != ascii_lower(username_in) || !valid_username(username_in)) {
    refused = bad_credentials();
    why = "username not exactly as stored (lower case a-z 0-9 . _ -)";
  } else if (settings_.os_reserved) {
    if (auto r = settings_.os_reserved(username_in)) {
      refused = make_error("reserved_username",
                           "resetd does not check passwords of this system account; use its own password.");
      why = "reserved by the OS: " + *r;
    }
  }
  if (refused) {
    if (int64_t wait = client_failures_.take(throttle_key); wait > 0) return too_many_attempts(wait);
    const std::string target = valid_username(username_in) ? username_in : "(invalid username)";
    store_.write([&](storage::Writer& w) {
      audit(w, "-", client, "sign_in", target, "failed", with_context(why, detail));
    });
    return *refused;
  }
  const std::string& username = username_in;
  // With an authenticator app the typed text is the password immediately
  // followed by the app's current code ("password123456", as FreeIPA and
  // LinOTP take it): its last six characters are always the code, even when
  // the password itself ends in digits. Without an app nothing is split off.
  bool totp = false;
  store_.read([&](storage::Reader& r) {
    if (auto u = r.user_by_username(username)) {
      auto f = r.second_factor(u->id);
      totp = f && f->confirmed_at;
    }
  });
  const size_t cut = totp ? (password.size() >= kTotpDigits ? password.size() - kTotpDigits : 0) : password.size();
  const std::string code = password.substr(cut);
  auto checked = check_sign_in(username, password.substr(0, cut), client, throttle_key, detail);
  if (!checked) {
    Error e = checked.error();
    // The same words for every account (which ones have an app is not told).
    if (e.code == "invalid_credentials")
      e.message += " With an authenticator app, type the password immediately followed by the app's 6-digit code.";
    return e;
  }
  const int64_t now = clock_.now();
  enum class Answer { Gone, Ok, WrongCode, CodeUsed, SecurityKeysOnly, FactorMissing };
  Answer answer = Answer::Gone;
  bool must_change = false;
  std::optional<UserRecord> out;
  const ExpirationSettings expiry = expiration();  // not inside the write
  store_.write([&](storage::Writer& w) {
    auto cur = w.user_by_id(checked->user.id);
    if (!cur) return;
    // The factors as they are now, in the write that signs in: PAM never asks
    // for a second prompt, so whatever it cannot check is a no.
    auto f = w.second_factor(cur->id);
    const bool has_totp = f && f->confirmed_at;
    std::string how;
    if (has_totp || totp) {
      // An app set up or removed since the look above: the text was split for
      // the other case; refused like a wrong code.
      const bool used = has_totp && totp && use_totp_code(w, *f, code, now, how);
      if (!used) {
        if (has_totp != totp) how = "second factor: changed during the check";
        answer = how == "second factor: TOTP code already used" ? Answer::CodeUsed : Answer::WrongCode;
        // A wrong code counts like a wrong password (the slot check_sign_in reserved).
        cur->failed_logins = checked->slot.failures;
        cur->last_failed_at = now;
        if (checked->slot.locked) cur->locked_until = now + kLockoutS;
        w.update_user(*cur);
        audit(w, username, client, "sign_in", username, "failed",
              with_context(checked->slot.locked ? how + "; locked out" : how, detail));
        return;
      }
    } else {
      // PAM cannot ask for a security key, and cannot enrol anyone.
      const bool keys = !w.security_keys(cur->id).empty();
      const Role role = parse_role(checked->dir_role.value_or(cur->role)).value_or(Role::User);
      if (keys || settings_.second_factor.required(role)) {
        answer = keys ? Answer::SecurityKeysOnly : Answer::FactorMissing;
        audit(w, username, client, "sign_in", username, "failed",
              with_context(keys ? "second factor required: security keys only, which PAM cannot ask for"
                                : "second factor required by the role, none set up",
                           detail));
        return;
      }
    }
    answer = Answer::Ok;
    clear_failures(*cur);
    if (checked->rehash) cur->password_hash = *checked->rehash;
    if (checked->dir_must_change) cur->must_change = *checked->dir_must_change;
    if (checked->dir_role) apply_directory_role(w, *cur, *checked->dir_role, username, client);
    w.update_user(*cur);
    must_change = cur->must_change ||
                  (!expiry.never_expires && cur->password_changed_at &&
                   *cur->password_changed_at + int64_t{expiry.days} * 86400 <= now);
    std::string d = with_context(how, detail);
    if (checked->rehash) d += d.empty() ? "rehashed" : "; rehashed";
    if (must_change) d = "password change required" + (d.empty() ? "" : "; " + d);
    audit(w, username, client, "sign_in", username, must_change ? "failed" : "ok", d);
    out = *cur;
  });
  const std::string page = settings_.public_url.empty() ? std::string("on the appliance's web page")
                                                        : "at " + settings_.public_url;
  switch (answer) {
    case Answer::Ok:
      // The password (and code) were right: the failure count starts over, as on the web.
      account_failures_.clear(username);
      break;
    case Answer::WrongCode:
    case Answer::CodeUsed:
      // The reserved slot stays counted: the same delays and lockout as the
      // web's second step; and the client's attempt check_sign_in gave back.
      client_failures_.hit(throttle_key);
      return make_error("invalid_second_factor",
                        answer == Answer::CodeUsed
                            ? "This authenticator code was already used. Wait for the app's next code and type "
                              "the password immediately followed by it."
                            : "The authenticator code is incorrect. Type the password immediately followed by "
                              "the app's current 6-digit code.");
    case Answer::SecurityKeysOnly:
      // The right password is not a failed guess, but it ends no run of failures either.
      account_failures_.release(username, checked->slot);
      return make_error("second_factor_required",
                        "This account signs in with a security key, which cannot be used here. Sign in " + page +
                            ", or set up an authenticator app there to use its code here.");
    case Answer::FactorMissing:
      account_failures_.release(username, checked->slot);
      return make_error("second_factor_required",
                        "Your role requires a second factor. Set up an authenticator app " + page +
                            " first, then type the password immediately followed by its code.");
    case Answer::Gone:
      account_failures_.release(username, checked->slot);
      return bad_credentials();
  }
  if (!out) return bad_credentials();
  if (must_change) {
    const std::string where = settings_.public_url.empty()
                                  ? std::string("on the appliance's web page")
                                  : "at " + settings_.public_url + "/#/password";
    return make_error("password_change_required",
                      "Your password must be changed before you can sign in here. Change it " + where + ".");
  }
  return *out;
}

}  // namespace resetd::accounts
