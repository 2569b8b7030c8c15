// AccountService: the password check for the appliance's other programs (PAM
// through `resetd auth-check`): the web sign-in's rules, no session.
#include "credentials.h"
#include "resetd/accounts/service.h"
#include "resetd/accounts/text.h"

namespace resetd::accounts {

using storage::UserRecord;

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
  auto checked = check_sign_in(username, password, client, throttle_key, detail);
  if (!checked) return checked.error();
  const int64_t now = clock_.now();
  // The password was right: the failure count starts over, as on the web.
  account_failures_.clear(username);
  bool must_change = false;
  std::optional<UserRecord> out;
  const ExpirationSettings expiry = expiration();  // not inside the write
  store_.write([&](storage::Writer& w) {
    auto cur = w.user_by_id(checked->user.id);
    if (!cur) return;
    clear_failures(*cur);
    if (checked->rehash) cur->password_hash = *checked->rehash;
    if (checked->dir_must_change) cur->must_change = *checked->dir_must_change;
    if (checked->dir_role) apply_directory_role(w, *cur, *checked->dir_role, username, client);
    w.update_user(*cur);
    must_change = cur->must_change ||
                  (!expiry.never_expires && cur->password_changed_at &&
                   *cur->password_changed_at + int64_t{expiry.days} * 86400 <= now);
    std::string d = detail;
    if (checked->rehash) d += d.empty() ? "rehashed" : "; rehashed";
    if (must_change) d = "password change required" + (d.empty() ? "" : "; " + d);
    audit(w, username, client, "sign_in", username, must_change ? "failed" : "ok", d);
    out = *cur;
  });
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
