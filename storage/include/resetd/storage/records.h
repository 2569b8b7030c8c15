// Plain records, one per table, as storage reads and writes them. Times are
// Unix seconds (UTC). No SQLite type appears here or in any public header.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace resetd::storage {

struct UserRecord {
  int64_t id = 0;
  std::string username;  // lowercase
  std::string display_name;
  std::string email;
  std::string alternate_email;
  std::string role;    // user | helpdesk_admin | password_admin | user_admin | global_admin
  std::string locale;  // en | zh-TW | tr-TR
  std::string search_text;  // folded username/display name/emails, made by accounts
  std::string password_hash;  // crypto_pwhash_str output, empty = no password
  bool must_change = false;
  std::optional<int64_t> temp_expires_at;  // set for a temporary password
  std::optional<int64_t> password_changed_at;
  bool disabled = false;
  int failed_logins = 0;  // consecutive, reset on success or unlock
  std::optional<int64_t> last_failed_at;
  std::optional<int64_t> locked_until;
  std::optional<int64_t> reminder_sent_for;  // password_changed_at the expiry reminder was sent for
  int64_t created_at = 0;
  int64_t updated_at = 0;
  std::string directory_id;  // entryUUID / objectGUID; empty = local account
  std::string directory_dn;  // where the entry was at the last sync
  bool directory_locked = false;  // the directory's own lockout, as last read (migration 0005)
};

// A directory password write in flight (see migration 0004).
struct DirectoryIntentRecord {
  int64_t id = 0;
  std::optional<int64_t> user_id;
  std::string username;
  std::string directory_dn;
  std::string action;  // password_reset | set_password_link | self_service_reset
  std::string actor;
  std::string client;
  std::string sealed;  // crypto::SecretBox of the password + options; empty once closed
  std::string state = "open";  // open | done | failed | not_applied | recovered
  std::string detail;
  int64_t created_at = 0;
  std::optional<int64_t> resolved_at;
};

struct UserQuery {
  std::string q_folded;  // substring of search_text; empty = all
  int64_t offset = 0;
  int64_t limit = 50;
  std::string sort = "username";  // username | display_name | created_at
  bool descending = false;
  std::optional<bool> disabled;
  // A list filter of Active users (see user_filters.h): "" = none, or
  // must_change | locked | admins | temp_expiring. `now` and
  // `expiring_before` are the clock for locked / temp_expiring.
  std::string filter;
  int64_t now = 0;
  int64_t expiring_before = 0;
};

struct UserPage {
  std::vector<UserRecord> users;
  int64_t total = 0;
};

struct SessionRecord {
  int64_t id = 0;
  int64_t user_id = 0;
  std::string token_hash;  // hex SHA-256 of the cookie token; the token itself is never stored
  bool must_change = false;
  int64_t created_at = 0;
  int64_t expires_at = 0;  // absolute expiry
  std::string client_addr;
  std::string user_agent;
};

// A notification in the outbox. `body` holds ciphertext when carries_secret
// (crypto::SecretBox), plain text otherwise; empty once erased.
struct OutboxRecord {
  int64_t id = 0;
  std::optional<int64_t> user_id;
  std::string kind;  // password | link | notice | code | reminder | test
  std::string recipient;
  std::string locale;
  std::string subject;
  std::string body;
  bool carries_secret = false;
  std::optional<int64_t> secret_expires_at;
  std::string state = "queued";  // queued | sending | sent | failed | superseded | expired
  int attempts = 0;
  int64_t next_attempt_at = 0;
  std::string last_answer;
  std::string message_id;  // stable across retries, without angle brackets
  int64_t created_at = 0;
  std::optional<int64_t> sent_at;
};

struct OutboxQuery {
  std::string state;               // empty = any
  std::optional<int64_t> user_id;  // none = any
  int64_t offset = 0;
  int64_t limit = 100;
};

struct LinkTokenRecord {
  int64_t id = 0;
  int64_t user_id = 0;
  std::string token_hash;
  int64_t expires_at = 0;
  std::optional<int64_t> used_at;
  int64_t created_at = 0;
};

struct CodeRecord {
  int64_t id = 0;
  int64_t user_id = 0;
  std::string code_mac;  // keyed MAC of the code; the code itself is never stored
  int64_t expires_at = 0;
  int tries = 0;
  std::optional<int64_t> used_at;
  int64_t created_at = 0;
};

// A WebAuthn security key of an account (migration 0009).
struct SecurityKeyRecord {
  int64_t id = 0;
  int64_t user_id = 0;
  std::string name;           // the owner's label
  std::string credential_id;  // base64url
  std::string public_key;     // base64url of the ES256 x||y
  std::string rp_id;          // the host name it was made for
  int64_t sign_count = 0;
  int64_t created_at = 0;
  std::optional<int64_t> last_used_at;
};

// A staff account's second factor (migration 0006).
struct SecondFactorRecord {
  int64_t user_id = 0;
  std::string totp_sealed;              // crypto::SecretBox hex of the raw TOTP secret
  std::optional<int64_t> confirmed_at;  // unset while enrolment awaits its first code
  int64_t last_step = 0;                // newest accepted TOTP step; older and equal ones are refused
  std::vector<std::string> recovery;    // Argon2id hash per recovery code, "-" once used
  int64_t created_at = 0;
};

struct AuditRecord {
  int64_t id = 0;
  int64_t at = 0;
  std::string actor;   // username, or "-" / "console" / "system"
  std::string client;  // client address
  std::string action;  // e.g. sign_in, password_reset, user_create
  std::string target;  // e.g. username
  std::string outcome; // ok | failed | denied
  std::string detail;  // never a secret
};

struct AuditQuery {
  int64_t offset = 0;
  int64_t limit = 100;
  std::string actor;
  std::string target;
  bool partial = false;  // actor/target: case-insensitive "contains" instead of equal
  std::string action;
  std::string outcome;  // ok | failed | denied; empty = any
  std::optional<int64_t> since;
  // an address (or part of one): case-insensitive "contains" in target or
  // detail, so a reset entry that queued mail for it is found too
  std::string recipient;
};

}  // namespace resetd::storage
