// The value types of AccountService's interface (service.h): its settings,
// who is acting, what a reset, a sign-in or a sync answers. Split from
// service.h so the class reads on its own; include service.h to use them.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "resetd/accounts/caller_verification.h"
#include "resetd/accounts/import.h"
#include "resetd/accounts/policy.h"
#include "resetd/accounts/roles.h"
#include "resetd/accounts/second_factor_policy.h"
#include "resetd/storage/store.h"

namespace resetd::accounts {

// Says why a username belongs to the OS and must never be resetd's (uid 0, a
// system account), or nullopt when resetd may use it. Set while [pam] is on
// (authsock::os_reserved in production); empty = no name is reserved.
using ReservedNameCheck = std::function<std::optional<std::string>(const std::string& username)>;

struct AccountSettings {
  int temp_password_ttl_h = 72;
  int link_ttl_min = 60;
  std::string public_url;  // base of set-password links; empty = links refused
  std::string default_locale = "en";
  std::string data_dir;    // for data_dir/initial-admin-password
  ReservedNameCheck os_reserved;  // PAM: names no admin may create and PAM never vouches for
  // Directory calls at once (all threads): the HTTP workers minus two, so a
  // hung directory never holds every worker (directory/gate.h).
  int directory_slots = 6;
  // [caller_verification]: role name -> policy; a role not named is optional.
  std::map<std::string, CallerPolicy> caller_policy;
  SecondFactorPolicy second_factor;  // [second_factor]: per role off / optional / required
};

// Password expiration policy (M365): never, or every `days` with a reminder.
struct ExpirationSettings {
  bool never_expires = true;
  int days = 90;           // 14–730
  int reminder_days = 14;  // 1–30
};

struct SelfServiceSettings {
  bool enabled = false;
  // Admin roles get no codes unless the site allows it: one borrowed session
  // could otherwise redirect an admin's codes (Entra asks admins for two methods).
  bool admins_enabled = false;
};

// Who is calling: resolved from the session cookie by the HTTP layer.
struct Actor {
  int64_t user_id = 0;
  std::string username;
  Role role = Role::User;
  int64_t session_id = 0;
  bool must_change = false;
  std::string client;  // client address (for audit and throttling)
  std::string display_name;  // for forward auth's Remote-Name
  std::string email;         // for forward auth's Remote-Email
  // The store's data_generation() when this request was authenticated, taken
  // before any of its reads: what it reads may be reused under this value.
  uint64_t generation = 0;
  bool second_factor = false;          // the account has a confirmed factor (every session of it proved it)
  std::string factors = {};  // which: "totp", "webauthn" or "totp,webauthn" (forward auth's Remote-Factors)
  bool second_factor_missing = false;  // policy requires one and none is set up: enrolment only
};

struct ResetOptions {
  std::string mode = "auto";  // auto | manual
  std::optional<std::string> password;
  bool require_change = true;
  std::string delivery = "password";  // password | link
  std::vector<std::string> notify;
  bool notify_user = true;
  // mode auto: "readable" (letters and digits in groups, for reading aloud
  // and any keyboard; the default) or "symbols" (mixed case and # % + = ? @)
  std::string password_style = "readable";
  // Directory users: also clear the directory's lockout (an AD reset does not);
  // unset = yes when the account is locked there.
  std::optional<bool> unlock;
  // Caller verification (caller_verification.cpp): the verified check this
  // reset consumes, or, when the admin's role requires one, a reason to go on without.
  std::string caller_verification;
  std::string override_reason;
  // Set by reset_password, not by the API: how the caller was checked, for
  // the audit row and the user's notice.
  std::string caller_audit;
  std::map<std::string, std::string> caller_notice;
  bool caller_override = false;
  // Set by bulk_reset_password: the override is audited for each user, but
  // announced to global admins once for the whole batch.
  bool caller_override_batched = false;
};

struct ResetOutcome {
  storage::UserRecord user;
  std::optional<std::string> password;  // only when generated
  std::optional<std::string> link;      // only for delivery link
  std::optional<int64_t> expires_at;    // when the new password or link stops working
  std::vector<storage::OutboxRecord> notifications;
  // What worked but needs an admin's attention (directory), e.g.
  // "must_change_not_enforced: ..." or "unlock_failed: ...".
  std::vector<std::string> warnings;
  // The reset went ahead on an override reason (audited as such).
  bool caller_override = false;
};

// What a user's details show beyond the record (GET /users/{id}): read from
// the audit and the sessions, for admins and for the user themself.
struct UserDetails {
  storage::UserRecord user;
  std::optional<int64_t> last_sign_in_at;  // last successful sign-in
  // The last entry that set this user's password: who, what, when (none: no
  // entry kept, e.g. past the audit's retention).
  std::optional<storage::AuditRecord> password_set;
  int64_t active_sessions = 0;
};

struct NewUser {
  std::string username;
  std::string display_name;
  std::string email;
  std::string alternate_email;
  std::string role = "user";
  std::string locale;
};

struct UserPatch {
  std::optional<std::string> display_name;
  std::optional<std::string> email;
  std::optional<std::string> alternate_email;
  std::optional<std::string> role;
  std::optional<bool> disabled;
  std::optional<std::string> locale;
  // Required when the caller changes its own email or alternate_email.
  std::optional<std::string> current_password;
};

struct SignIn {
  storage::UserRecord user;
  storage::SessionRecord session;
  std::string token;  // the cookie value; shown to nobody else
  bool must_change = false;
  // Set instead of `token` when the account has a second factor: no session
  // exists yet; the token is good for sign_in_second_factor() only.
  std::string pending_token;
  // The role must have a second factor and has none: the session may only enrol.
  bool second_factor_missing = false;
  // With pending_token: the second steps the account has ("totp",
  // "recovery_code", "security_key").
  std::vector<std::string> methods;
};

// Second factor (second_factor.cpp): what enrolment shows once.
struct TotpEnrolment {
  std::string secret;  // base32, for typing into an app
  std::string uri;     // otpauth://totp/..., for the QR code
};
// A security key (WebAuthn, security_keys.cpp) as its owner sees it.
struct SecurityKeyInfo {
  int64_t id = 0;
  std::string name;
  std::string rp_id;  // the host name it works on
  int64_t created_at = 0;
  std::optional<int64_t> last_used_at;
};
// What navigator.credentials.create()/get() needs; bytes are base64url.
struct SecurityKeyChallenge {
  std::string challenge;
  std::string rp_id;
  std::string user_id;                   // create(): the account's user handle
  std::vector<std::string> credentials;  // get(): allowCredentials; create(): excludeCredentials
  int64_t timeout_ms = 0;
};
// One answer of navigator.credentials.get(); bytes are base64url.
struct SecurityKeyAssertion {
  std::string credential_id;
  std::string client_data_json;
  std::string authenticator_data;
  std::string signature;
};
struct SecondFactorState {
  std::vector<SecurityKeyInfo> security_keys;
  bool totp = false;          // confirmed: sign-in asks for a code
  bool enrolling = false;     // a secret waits for its first code
  int recovery_codes_left = 0;
  FactorRule policy = FactorRule::Optional;  // the caller's role's rule
};

// One directory sync (users_base -> local records keyed by the entry's stable id).
struct SyncReport {
  bool ok = false;
  int64_t at = 0;       // wall clock of the sync
  int64_t ms = 0;       // how long it took
  int64_t total = 0;    // directory entries seen
  int64_t added = 0;
  int64_t updated = 0;
  int64_t removed = 0;
  int64_t skipped = 0;  // e.g. a username taken by a local account
  int64_t roles_changed = 0;  // staff roles changed by [directory.roles]
  std::string roles_error;    // groups could not be read: roles left unchanged
  std::string error;    // the directory's answer when !ok
};

// Renders an outbox message body for a kind/locale (notify::render in
// production); kept as a function so accounts need not link notify.
using Renderer = std::function<std::pair<std::string, std::string>(
    const std::string& kind, const std::string& locale,
    const std::map<std::string, std::string>& vars)>;

}  // namespace resetd::accounts
