// AccountService: users, sign-in, sessions, password changes and resets —
// the domain side of the API. Every change and its audit row (and, for a
// reset, its outbox rows) commit in one Store::write before a method returns.
// Argon2 work happens outside any transaction. Thread-safe.
//
// Errors are Result errors with the API's codes; `status_for(code)` in the
// HTTP layer maps them. Storage failures propagate as storage::StorageError.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "resetd/accounts/policy.h"
#include "resetd/accounts/roles.h"
#include "resetd/accounts/throttle.h"
#include "resetd/common/clock.h"
#include "resetd/common/result.h"
#include "resetd/crypto/crypto.h"
#include "resetd/storage/store.h"

namespace resetd::accounts {

struct AccountSettings {
  int temp_password_ttl_h = 72;
  int link_ttl_min = 60;
  std::string public_url;  // base of set-password links; empty = links refused
  std::string default_locale = "en";
  std::string data_dir;    // for data_dir/initial-admin-password
};

// Who is calling: resolved from the session cookie by the HTTP layer.
struct Actor {
  int64_t user_id = 0;
  std::string username;
  Role role = Role::User;
  int64_t session_id = 0;
  bool must_change = false;
  std::string client;  // client address (for audit and throttling)
};

struct ResetOptions {
  std::string mode = "auto";  // auto | manual
  std::optional<std::string> password;
  bool require_change = true;
  std::string delivery = "password";  // password | link
  std::vector<std::string> notify;
  bool notify_user = true;
};

struct ResetOutcome {
  storage::UserRecord user;
  std::optional<std::string> password;  // only when generated
  std::optional<std::string> link;      // only for delivery link
  std::vector<storage::OutboxRecord> notifications;
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
};

struct SignIn {
  storage::UserRecord user;
  storage::SessionRecord session;
  std::string token;  // the cookie value; shown to nobody else
  bool must_change = false;
};

// Renders an outbox message body for a kind/locale (notify::render in
// production); kept as a function so accounts need not link notify.
using Renderer = std::function<std::pair<std::string, std::string>(
    const std::string& kind, const std::string& locale,
    const std::map<std::string, std::string>& vars)>;

class AccountService {
 public:
  AccountService(storage::Store& store, const Clock& clock, crypto::PasswordHasher& hasher,
                 const crypto::SecretBox& box, Renderer render, AccountSettings settings);

  // Called after outbox rows were committed (wakes the worker).
  void on_outbox_change(std::function<void()> fn) { outbox_changed_ = std::move(fn); }

  // ---- sign-in and sessions ----
  Result<SignIn> sign_in(const std::string& username, const std::string& password,
                         const std::string& client, const std::string& user_agent);
  // Resolves a cookie token; `activity` = count this request as activity.
  std::optional<Actor> authenticate(const std::string& token, const std::string& client,
                                    bool activity);
  std::string csrf_token_for(const std::string& token) const;
  Status sign_out(const Actor& a);
  Status change_own_password(const Actor& a, const std::string& current,
                             const std::string& next);

  // ---- users ----
  Result<storage::UserPage> list_users(const Actor& a, const std::string& q, int64_t offset,
                                       int64_t limit, const std::string& sort,
                                       std::optional<bool> disabled);
  Result<storage::UserRecord> get_user(const Actor& a, int64_t id);
  Result<ResetOutcome> create_user(const Actor& a, const NewUser& u, const ResetOptions& o);
  Result<storage::UserRecord> patch_user(const Actor& a, int64_t id, const UserPatch& p);
  Status delete_user(const Actor& a, int64_t id);
  Status unlock_user(const Actor& a, int64_t id);

  // ---- resets ----
  Result<ResetOutcome> reset_password(const Actor& a, int64_t id, const ResetOptions& o);
  Status set_password_with_link(const std::string& token, const std::string& next,
                                const std::string& client);

  PolicyResult check_policy(const std::string& password, const std::optional<int64_t>& user_id,
                            const Actor* a);

  // ---- notifications ----
  Result<std::vector<storage::OutboxRecord>> list_notifications(const Actor& a,
                                                                const storage::OutboxQuery& q);
  Result<storage::OutboxRecord> retry_notification(const Actor& a, int64_t id);

  // ---- console (CLI, physical access) ----
  Result<storage::UserRecord> console_add_user(const NewUser& u, const std::string& password);
  Status console_set_password(const std::string& username, const std::string& password,
                              bool must_change);
  Status console_set_role(const std::string& username, const std::string& role);
  Status console_disable(const std::string& username);

  // Daily sweep: expired sessions, idle map, outbox retention, audit retention.
  void sweep();

  PolicySettings policy() const;
  const AccountSettings& settings() const { return settings_; }
  // Validation shared with the API layer.
  static Status validate_options(const ResetOptions& o, bool bulk);

  static constexpr int64_t kSessionAbsoluteS = 8 * 3600;
  static constexpr int64_t kSessionIdleMs = 15 * 60 * 1000;
  static constexpr int kLockoutFailures = 10;
  static constexpr int64_t kLockoutS = 15 * 60;

 private:
  struct Prepared {
    std::string hash;                       // new hash (delivery password)
    std::optional<std::string> password;    // plaintext, for the answer and mails
    std::optional<std::string> link_token;  // for delivery link
    bool generated = false;
  };
  Result<Prepared> prepare(const storage::UserRecord& target, const ResetOptions& o);
  ResetOutcome apply_reset(storage::Writer& w, storage::UserRecord& u, const Prepared& p,
                           const ResetOptions& o, const std::string& actor_name,
                           const std::string& client, const std::string& action);
  storage::OutboxRecord make_message(const storage::UserRecord& u, const std::string& kind,
                                     const std::string& to,
                                     const std::map<std::string, std::string>& vars,
                                     std::optional<int64_t> secret_expires);
  void audit(storage::Writer& w, const std::string& actor, const std::string& client,
             const std::string& action, const std::string& target, const std::string& outcome,
             const std::string& detail = {});
  std::string search_text(const storage::UserRecord& u) const;
  Result<std::string> hash_password(const std::string& pw);
  void touch(int64_t session_id);
  void notify_outbox();

  storage::Store& store_;
  const Clock& clock_;
  crypto::PasswordHasher& hasher_;
  const crypto::SecretBox& box_;
  Renderer render_;
  AccountSettings settings_;
  std::function<void()> outbox_changed_;
  std::string dummy_hash_;
  RateLimiter client_failures_;   // failed sign-ins per client
  RateLimiter unknown_failures_;  // failed sign-ins per unknown username
  std::mutex idle_mu_;
  std::map<int64_t, int64_t> last_activity_ms_;  // session id -> mono ms
};

// Rendered users for outbox/audit helpers.
std::string display_or_username(const storage::UserRecord& u);

}  // namespace resetd::accounts
