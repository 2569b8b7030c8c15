// AccountService: users, sign-in, sessions, password changes and resets —
// the domain side of the API. Every change and its audit row (and, for a
// reset, its outbox rows) commit in one Store::write before a method returns.
// Argon2 work happens outside any transaction. Thread-safe.
//
// Errors are Result errors with the API's codes; `status_for(code)` in the
// HTTP layer maps them. Storage failures propagate as storage::StorageError.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <thread>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <optional>
#include <string>
#include <vector>

#include "resetd/accounts/caller_verification.h"
#include "resetd/accounts/service_types.h"
#include "resetd/accounts/import.h"
#include "resetd/accounts/policy.h"
#include "resetd/accounts/roles.h"
#include "resetd/accounts/second_factor_policy.h"
#include "resetd/accounts/throttle.h"
#include "resetd/common/clock.h"
#include "resetd/common/result.h"
#include "resetd/crypto/crypto.h"
#include "resetd/directory/directory.h"
#include "resetd/directory/gate.h"
#include "resetd/storage/store.h"

namespace resetd::accounts {

class AccountService {
 public:
  AccountService(storage::Store& store, const Clock& clock, crypto::PasswordHasher& hasher,
                 const crypto::SecretBox& box, Renderer render, AccountSettings settings);
  ~AccountService();

  // Stops and joins the background self-service thread; idempotent (the
  // destructor calls it too). Call it before whatever on_outbox_change()'s
  // callback reaches goes away: that thread calls it.
  void stop_background();

  // Called after outbox rows were committed (wakes the worker).
  void on_outbox_change(std::function<void()> fn) { outbox_changed_ = std::move(fn); }

  // ---- sign-in and sessions ----
  Result<SignIn> sign_in(const std::string& username, const std::string& password,
                         const std::string& client, const std::string& user_agent);
  // A password check for another program of the appliance (PAM through
  // `resetd auth-check`): the same throttling, lockout, expiry and audit as
  // sign_in, but no session. `client` is what the audit shows (pam:<service>),
  // `throttle_key` what the per-client limit counts, `detail` goes into the
  // audit row. Refuses must-change and expired passwords with
  // password_change_required (message says where to change it). The name must
  // be exactly the stored (lower-case) one, and a name settings().os_reserved
  // reserves is refused (reserved_username) before any password check, so
  // neither counts as a failed guess.
  Result<storage::UserRecord> check_service_password(const std::string& username,
                                                     const std::string& password,
                                                     const std::string& client,
                                                     const std::string& throttle_key,
                                                     const std::string& detail);
  // Resolves a cookie token; `activity` = count this request as activity.
  std::optional<Actor> authenticate(const std::string& token, const std::string& client,
                                    bool activity);
  // The forward-auth cookie's token for a session token: what sibling hosts
  // get (forward_auth.cookie_domain). It is good for authenticate_forward
  // only, which GET /auth/verify alone calls; authenticate refuses it, and it
  // yields neither the session token nor the CSRF token.
  static std::string forward_token_for(const std::string& session_token);
  std::optional<Actor> authenticate_forward(const std::string& token, const std::string& client,
                                            bool activity);
  std::string csrf_token_for(const std::string& token) const;
  Status sign_out(const Actor& a);
  Status change_own_password(const Actor& a, const std::string& current,
                             const std::string& next);

  // ---- second factor (issue 23; second_factor.cpp) ----
  // The second step of a sign-in: `pending` from sign_in(), and a TOTP code
  // or (when `code` is empty) a recovery code. Throttled and locked out on
  // the sign-in counters; a pending token dies after kPendingTries wrong codes.
  Result<SignIn> sign_in_second_factor(const std::string& pending, const std::string& code,
                                       const std::string& recovery_code, const std::string& client);
  Result<SecondFactorState> second_factor_state(const Actor& a);
  // A new TOTP secret for the caller; local accounts confirm their current
  // password (throttled like a sign-in). While an app is confirmed, a current
  // code of it (or a recovery code) makes this a replacement
  // (second_factor_replace.cpp): the old app stays valid until confirm_totp
  // swaps the secrets in one write; without one: second_factor_enrolled.
  Result<TotpEnrolment> begin_totp(const Actor& a, const std::optional<std::string>& current_password,
                                   const std::string& code = {}, const std::string& recovery_code = {});
  // Activates it with a current code; returns the ten recovery codes (shown once).
  Result<std::vector<std::string>> confirm_totp(const Actor& a, const std::string& code);
  static constexpr int64_t kReplaceS = 10 * 60;  // a replacement's new secret waits this long
  // One's own factor (second_factor_manage.cpp): each needs the current
  // password (local accounts) and a current code or a recovery code; audited.
  // Removing is refused while the role requires a factor and no security key
  // is left (replace instead: begin_totp with a code),
  // and ends the account's other sessions.
  Status remove_own_second_factor(const Actor& a, const std::optional<std::string>& current_password,
                                  const std::string& code, const std::string& recovery_code);
  // Ten new recovery codes in place of the old ones (shown once).
  Result<std::vector<std::string>> regenerate_recovery_codes(const Actor& a,
                                                             const std::optional<std::string>& current_password,
                                                             const std::string& code,
                                                             const std::string& recovery_code);
  // Removes one of the caller's security keys (second_factor_manage.cpp): the
  // current password (local accounts; a bind for directory ones), audited,
  // ends the account's other sessions. Refused (last_required_factor) when the
  // role requires a factor and it is the account's last one.
  Status remove_security_key(const Actor& a, const std::optional<std::string>& current_password, int64_t key_id);
  // ---- security keys (WebAuthn; security_keys.cpp) ----
  // `origin` is the page's origin ("https://host[:port]"); its host is the rp
  // id. An IP address has none (browsers refuse WebAuthn there):
  // webauthn_unavailable. Enrolment: the current password (local accounts)
  // and a name, then the browser's answer to the challenge (one per session,
  // single use, kKeyCeremonyS); audited, ends the account's other sessions.
  Result<SecurityKeyChallenge> begin_security_key(const Actor& a, const std::optional<std::string>& current_password,
                                                  const std::string& name, const std::string& origin);
  Result<SecurityKeyInfo> confirm_security_key(const Actor& a, const std::string& client_data_json,
                                               const std::string& authenticator_data, const std::string& origin);
  // The sign-in's second step with a key: a challenge bound to the pending
  // sign-in (a new one replaces the old; each is used once, right or wrong),
  // then the assertion; failures count like wrong codes.
  Result<SecurityKeyChallenge> security_key_challenge(const std::string& pending, const std::string& client,
                                                      const std::string& origin);
  Result<SignIn> sign_in_security_key(const std::string& pending, const SecurityKeyAssertion& answer,
                                      const std::string& client, const std::string& origin);
  // The rp id security keys use on a page of `origin`; none on an IP address.
  static std::optional<std::string> security_key_rp_id(const std::string& origin);
  static constexpr int64_t kKeyCeremonyS = 120;
  static constexpr int kMaxSecurityKeys = 10;
  // Break-glass: removes the user's second factor (audited as the console).
  Status console_reset_second_factor(const std::string& username);
  static constexpr int64_t kPendingS = 5 * 60;
  static constexpr int kPendingTries = 5;
  static constexpr int kRecoveryCodes = 10;

  // ---- caller verification (issue 23; caller_verification.cpp) ----
  CallerPolicy caller_policy(Role actor) const;
  // Sends a code to the user's alternate address (or, with TOTP enrolled,
  // asks for the app's code); replaces the admin's earlier one for this user.
  Result<CallerChallenge> start_caller_verification(const Actor& a, int64_t user_id);
  // What the caller read out; kCallerTries wrong ones end the verification.
  Result<CallerChallenge> check_caller_verification(const Actor& a, int64_t user_id, const std::string& id,
                                                    const std::string& code);
  // A bulk reset, before any user: a verification names one user, so a role
  // that must verify needs an override reason (well formed) for the batch.
  Status bulk_caller_check(const Actor& a, const ResetOptions& o) const;
  static constexpr int64_t kCallerTtlS = 10 * 60;
  static constexpr int kCallerTries = 3;
  static constexpr int kCallerStartsPerHour = 5;

  // ---- users ----
  Result<storage::UserPage> list_users(const Actor& a, const std::string& q, int64_t offset,
                                       int64_t limit, const std::string& sort,
                                       std::optional<bool> disabled,
                                       const std::string& filter = "");
  Result<storage::UserRecord> get_user(const Actor& a, int64_t id);
  Result<ResetOutcome> create_user(const Actor& a, const NewUser& u, const ResetOptions& o);
  Result<storage::UserRecord> patch_user(const Actor& a, int64_t id, const UserPatch& p);
  Status delete_user(const Actor& a, int64_t id);
  Status unlock_user(const Actor& a, int64_t id);
  // Users from CSV text (import.h): every row is checked first; any error and
  // nothing is created. Each new user gets a welcome mail (options `o`, mode auto).
  Result<ImportReport> import_users(const Actor& a, const std::string& csv_text, ResetOptions o, bool dry_run);
  Result<UserDetails> user_details(const Actor& a, int64_t id);
  // Ends every session of user `id` (for oneself: every other one); returns
  // how many. Follows the reset table, like unlock.
  Result<int64_t> end_user_sessions(const Actor& a, int64_t id);

  // ---- resets ----
  Result<ResetOutcome> reset_password(const Actor& a, int64_t id, const ResetOptions& o);
  Status set_password_with_link(const std::string& token, const std::string& next,
                                const std::string& client);

  PolicyResult check_policy(const std::string& password, const std::optional<int64_t>& user_id,
                            const Actor* a);

  // ---- notifications ----
  Result<std::pair<std::vector<storage::OutboxRecord>, int64_t>> list_notifications(
      const Actor& a, const storage::OutboxQuery& q);  // page and total
  Result<storage::OutboxRecord> retry_notification(const Actor& a, int64_t id);

  // ---- console (CLI, physical access) ----
  Result<storage::UserRecord> console_add_user(const NewUser& u, const std::string& password);
  Status console_set_password(const std::string& username, const std::string& password,
                              bool must_change);
  Status console_set_role(const std::string& username, const std::string& role);
  Status console_disable(const std::string& username);

  // Daily sweep: expired sessions, idle map, outbox retention, audit retention.
  void sweep();
  // Expiry reminders due now (once per password); returns how many were queued.
  int send_expiry_reminders();

  // ---- site settings (global_admin) ----
  ExpirationSettings expiration() const;
  SelfServiceSettings self_service() const;
  int audit_retention_days() const;
  Status put_policy(const Actor& a, const PolicySettings& p);
  Status put_expiration(const Actor& a, const ExpirationSettings& e);
  Status put_self_service(const Actor& a, const SelfServiceSettings& s);
  Status put_audit_retention(const Actor& a, int days);
  // Records a settings change made elsewhere (relay) in the audit trail.
  void audit_setting(const Actor& a, const std::string& what, const std::string& detail);
  void audit_event(const std::string& actor, const std::string& client, const std::string& action,
                   const std::string& target, const std::string& outcome, const std::string& detail);

  // When the user's current password stops working as is (temporary expiry
  // or the expiration policy); nullopt = never.
  std::optional<int64_t> password_expires_at(const storage::UserRecord& u) const;
  // The same with the policy already read (lists: one read per request).
  static std::optional<int64_t> password_expires_at(const storage::UserRecord& u,
                                                    const ExpirationSettings& e);
  bool password_expired(const storage::UserRecord& u, int64_t now) const;

  // ---- self-service (spec §5) ----
  // Answers at once; the per-user work runs on the service's own thread.
  // Returns a throttling error only (the same for every username).
  Status self_service_request(const std::string& username, const std::string& client);
  Status self_service_reset(const std::string& username, const std::string& code,
                            const std::string& next, const std::string& client);
  // Waits until queued self-service requests are processed (tests, shutdown).
  void drain_self_service();

  // ---- my sessions ----
  Result<std::vector<storage::SessionRecord>> list_sessions(const Actor& a);
  Status end_session(const Actor& a, int64_t id);
  Status end_other_sessions(const Actor& a);

  PolicySettings policy() const;
  const AccountSettings& settings() const { return settings_; }

  // ---- directory (issue 10) ----
  // Swaps the directory (settings saved); kind "none" = local accounts.
  void set_directory(std::shared_ptr<directory::Directory> d);
  std::shared_ptr<directory::Directory> directory() const;
  bool directory_mode() const;  // a remote directory is configured
  // Reads every entry (paged) and mirrors it into local records: added,
  // updated (renames/moves keep the record), removed (audit stays).
  Result<SyncReport> sync_directory(const std::string& actor, const std::string& client);
  std::optional<SyncReport> last_sync() const;
  // Intents left open by a crash: asks the directory whether it took each
  // password (a bind with it); if not, writes it again (rolls forward); then
  // finishes (outbox + audit). Refused: closed as not applied; overtaken by a
  // newer write: superseded; unreachable: stays open. Returns how many resolved.
  // An intent is not settled before its write's answer could still be on the
  // way: intents of unknown outcome wait settle_grace_ms() after the request
  // gave up. The user's write lock is taken per intent; one held by a live
  // request is skipped (tried again at the next call).
  int resolve_intents();
  // Temporary passwords of directory users past expires_at (spec §1): one the
  // user has not changed at the directory is replaced there by a random one
  // nobody knows (under an intent, audited); one they changed is just
  // forgotten. Runs after every sync. Returns how many were replaced.
  int expire_directory_temp_passwords();
  // True (once) when a write of unknown outcome or an unrecorded one asks for
  // resolve_intents() soon; the background thread polls it.
  bool take_settle_request() { return settle_now_.exchange(false); }
  Result<std::vector<storage::DirectoryIntentRecord>> list_intents(const Actor& a);
  int64_t open_intent_count();
  // The same, reusing the count while `generation` (a data_generation() taken
  // before this call) stays the same.
  int64_t open_intent_count(uint64_t generation);
  // Settings: the file's [directory] overlaid by what admins saved (settings
  // key "directory"; the bind password sealed with the data dir's key).
  void set_directory_file_config(directory::Config c);
  directory::Config directory_config() const;
  bool directory_password_saved() const;
  // Saves `c`. `retyped`: the request carried a new bind password (in
  // c.bind_password); otherwise the stored one is kept only while the
  // destination (kind, url, failover_urls, ca_file, bind_dn) stays the same,
  // and a changed destination is refused (bind_password_required, 422).
  Result<directory::Config> put_directory(const Actor& a, directory::Config c, bool retyped);
  // Binds with `c` (the form's values over the current settings) and reads
  // users_base; the stored password follows the same rule as put_directory.
  Result<directory::Answer> test_directory(const Actor& a, directory::Config c, bool retyped);
  // Maps a directory refusal to the API's error.
  static Error directory_error(const directory::Answer& ans);
  // Validation shared with the API layer.
  static Status validate_options(const ResetOptions& o, bool bulk);

  static constexpr int64_t kSessionAbsoluteS = 8 * 3600;
  static constexpr int64_t kSessionIdleMs = 15 * 60 * 1000;
  static constexpr int kLockoutFailures = 10;
  static constexpr int64_t kLockoutS = 15 * 60;
  // The "temporary password expiring" list filter: within this many seconds.
  static constexpr int64_t kExpiringWithin = 24 * 3600;

 private:
  struct Prepared {
    std::string hash;                       // new hash (delivery password)
    std::optional<std::string> password;    // plaintext, for the answer and mails
    std::optional<std::string> link_token;  // for delivery link
    bool generated = false;
  };
  struct PasswordCheck {
    storage::UserRecord user;
    std::optional<std::string> rehash;  // new hash when parameters changed
    std::optional<bool> dir_must_change;  // directory users: the bind said "must change"
    std::optional<std::string> dir_role;  // directory users: role from [directory.roles]
    SignInThrottle::Reservation slot;     // the attempt check_sign_in reserved
  };
  // The session for a checked sign-in (both steps passed); `how` ends the audit detail.
  Result<SignIn> finish_sign_in(const PasswordCheck& checked, const std::string& client,
                                const std::string& user_agent, const std::string& how);
  // A WebAuthn challenge the server issued: raw bytes, for this rp id and origin.
  struct KeyCeremony {
    std::string challenge;
    std::string rp_id;
    std::string origin;
    std::string name;        // enrolment: the key's label
    int64_t expires_ms = 0;  // monotonic
  };
  // Sign-ins waiting for their second step, by SHA-256 of the pending token.
  struct PendingSignIn {
    PasswordCheck checked;
    std::string client;
    std::string user_agent;
    int64_t expires_ms = 0;  // monotonic
    int tries = 0;
    std::optional<KeyCeremony> key;  // the security-key challenge of this sign-in
  };
  std::map<int64_t, KeyCeremony> key_enrolments_;  // by session id; under pending_mu_
  // An app being replaced: the new secret (sealed) waits here, the old one
  // stays in the store until the new one's first code (by session id; under pending_mu_).
  struct TotpReplacement {
    std::string old_sealed;
    std::string new_sealed;
    int64_t expires_ms = 0;  // monotonic
  };
  std::map<int64_t, TotpReplacement> totp_replacements_;
  Result<TotpEnrolment> begin_totp_replacement(const Actor& a, const std::optional<std::string>& password,
                                               const std::string& code, const std::string& recovery_code);
  // confirm_totp of a replacement this session started: none when it has none.
  std::optional<Result<std::vector<std::string>>> confirm_totp_replacement(const Actor& a, const std::string& code);
  TotpEnrolment totp_enrolment(const Actor& a, const std::string& secret) const;
  // A wrong second step: the pending sign-in's tries, the account's failure
  // counters and lockout, the audit row; returns `err`.
  Error second_step_failed(const std::string& pending_key, int64_t uid, const std::string& username,
                           const std::string& client, const SignInThrottle::Reservation& slot, int64_t now,
                           const std::string& detail, Error err);
  // A confirmed factor's TOTP `code` (six digits) at `now`, used up: its step
  // must be newer than the last one used (web sign-in, PAM, proving one's own
  // factor share that record). `detail` says what happened for the audit.
  bool use_totp_code(storage::Writer& w, storage::SecondFactorRecord& f, const std::string& code, int64_t now,
                     std::string& detail);
  std::mutex pending_mu_;
  std::map<std::string, PendingSignIn> pending_;
  std::string start_pending(const PasswordCheck& checked, const std::string& client,
                            const std::string& user_agent);
  // Throttle, verify, failure bookkeeping and the failed audit rows shared by
  // sign_in and check_service_password; `context` (who asked) ends each row's detail.
  Result<PasswordCheck> check_sign_in(const std::string& username, const std::string& password,
                                      const std::string& client, const std::string& throttle_key,
                                      const std::string& context = {});
  Result<Prepared> prepare(const storage::UserRecord& target, const ResetOptions& o);
  ResetOutcome apply_reset(storage::Writer& w, storage::UserRecord& u, const Prepared& p,
                           const ResetOptions& o, const std::string& actor_name,
                           const std::string& client, const std::string& action);
  storage::OutboxRecord make_message(const storage::UserRecord& u, const std::string& kind,
                                     const std::string& to,
                                     const std::map<std::string, std::string>& vars,
                                     std::optional<int64_t> secret_expires,
                                     const std::string& tmpl = "");  // template; default = kind
  void audit(storage::Writer& w, const std::string& actor, const std::string& client,
             const std::string& action, const std::string& target, const std::string& outcome,
             const std::string& detail = {});
  std::string search_text(const storage::UserRecord& u) const;
  Result<std::string> hash_password(const std::string& pw);
  // reserved_username (422, field username) for a name settings_.os_reserved reserves.
  Status check_not_reserved(const std::string& username) const;
  Status console_patch(const std::string& username, const UserPatch& p);
  // Checks the caller's own password, throttled like a sign-in.
  Status confirm_own_password(const Actor& a, const storage::UserRecord& u,
                              const std::optional<std::string>& password, const std::string& action);
  // second_factor_manage.cpp: the owner's password (local accounts) and a
  // current TOTP code or a recovery code, each throttled like a sign-in; the
  // code is used up. `action` names the audit rows of failures.
  Status prove_own_second_factor(const Actor& a, const std::optional<std::string>& password,
                                 const std::string& code, const std::string& recovery_code,
                                 const std::string& action);
  std::optional<Actor> authenticate_hash(const std::string& row_hash, const std::string& client,
                                         bool activity);
  void touch(int64_t session_id);
  void notify_outbox();
  void self_service_loop();
  void process_self_service(const std::string& username, const std::string& client);
  std::string code_mac(int64_t user_id, const std::string& code) const;
  // The caller check of a reset into o (caller_audit, caller_notice); with
  // `taken` the verification it names is used up (and kept there, so a reset
  // that then fails can give it back with caller_give_back).
  Status caller_check(const Actor& a, const storage::UserRecord& target, ResetOptions& o,
                      std::optional<CallerEntry>* taken = nullptr);
  void caller_give_back(const std::string& id, const std::optional<CallerEntry>& taken);
  void caller_override_notices(storage::Writer& w, const storage::UserRecord& u, const ResetOptions& o,
                               const std::string& actor_name, const std::string& client);
  std::mutex caller_mu_;
  std::map<std::string, CallerEntry> callers_;              // by id
  std::map<int64_t, std::vector<int64_t>> caller_starts_;  // user id -> recent start times

  storage::Store& store_;
  const Clock& clock_;
  crypto::PasswordHasher& hasher_;
  const crypto::SecretBox& box_;
  Renderer render_;
  AccountSettings settings_;
  std::function<void()> outbox_changed_;
  std::string dummy_hash_;
  // Site settings as last read or written: they change only through this
  // service, and lists/resets read them on every request. A read that raced
  // a change (the generation moved) is not kept.
  std::optional<std::string> setting(const std::string& key) const;
  void setting_changed(const std::string& key);
  mutable std::mutex settings_mu_;
  mutable std::map<std::string, std::optional<std::string>> settings_cache_;
  mutable uint64_t settings_gen_ = 0;
  RateLimiter client_failures_;   // failed sign-ins per client
  SignInThrottle account_failures_;  // consecutive failed sign-ins per username
  std::mutex idle_mu_;
  std::map<int64_t, int64_t> last_activity_ms_;  // session id -> mono ms
  // authenticate()'s reads, by token hash, kept while the store's
  // data_generation() stays the same (any commit, ours or another
  // process's, moves it); expiry and idle time are still checked per call.
  struct SessionHit {
    uint64_t generation = 0;
    storage::SessionRecord session;
    storage::UserRecord user;  // without its password hash
    bool second_factor = false;  // a confirmed factor
    std::string factors;         // Actor::factors
  };
  std::mutex auth_mu_;
  std::map<std::string, SessionHit> auth_cache_;
  std::mutex intents_mu_;
  std::optional<std::pair<uint64_t, int64_t>> open_intents_;  // generation, count
  RateLimiter ss_request_limit_;  // self-service requests per client
  RateLimiter ss_reset_limit_;    // self-service code attempts per client
  std::mutex ss_mu_;
  std::condition_variable ss_cv_;
  std::deque<std::pair<std::string, std::string>> ss_queue_;  // username, client
  int ss_busy_ = 0;
  bool ss_stop_ = false;
  std::thread ss_thread_;
  mutable std::mutex dir_mu_;
  std::shared_ptr<directory::Directory> dir_;
  std::optional<SyncReport> last_sync_;
  std::mutex sync_mu_;  // one sync at a time
  std::mutex resolve_mu_;  // one resolve_intents() at a time
  std::mutex live_mu_;
  std::set<int64_t> live_intents_;  // intents a request of this process is carrying out
  // Open intents whose write left without an answer: intent id -> mono ms it
  // gave up; and users with such a write lately (user id -> mono ms), whose
  // next write is checked by a bind after it lands.
  std::map<int64_t, int64_t> unknown_since_;
  std::map<int64_t, int64_t> recent_unknown_;
  std::atomic<bool> settle_now_{false};
  int64_t settle_grace_ms() const;
  void note_unknown(int64_t intent_id, std::optional<int64_t> user_id);
  // One writer of a user's directory password at a time (live requests and
  // the resolver): the guard, or null when someone holds it.
  std::mutex user_mu_;
  std::set<int64_t> busy_users_;
  std::shared_ptr<void> try_hold_user(int64_t user_id);
  // The user's lock and no earlier write of unknown outcome still open; else
  // reset_in_progress (409).
  // `held`: the caller holds the user's lock already (try_hold_user).
  Result<std::shared_ptr<void>> claim_user_write(const storage::UserRecord& u, std::shared_ptr<void> held = nullptr);
  std::shared_ptr<directory::CallGate> dir_gate_;
  // resolve_intents() for one intent, its user's write lock held: true when closed.
  bool settle_one(directory::Directory* d, const storage::DirectoryIntentRecord& in);
  directory::Answer write_checked(directory::Directory& d, int64_t user_id, const std::string& dn,
                                  const std::string& pw, bool require_change);
  // Writes intent `in` (setting its id) and holds it in live_intents_ from
  // before its row commits until the returned guard goes: resolve_intents()
  // only finishes intents no request of this process is carrying out.
  std::shared_ptr<void> insert_held_intent(storage::DirectoryIntentRecord& in);
  directory::Config dir_file_config_;
  // The relay rule for the sealed bind password (see put_directory).
  Result<directory::Config> with_stored_password(directory::Config c, bool retyped) const;
  Result<ResetOutcome> directory_reset(const Actor& a, const storage::UserRecord& target,
                                       const Prepared& p, const ResetOptions& o);
  // directory_state.cpp: after a directory reset landed, the unlock it asked
  // for (ResetOptions::unlock) and the directory's warnings, into `out`.
  void after_directory_reset(const Actor& a, const storage::UserRecord& target, const ResetOptions& o,
                             const directory::Answer& written, ResetOutcome& out);
  // Unlocks `dn` in the directory after its password was reset (live, or by
  // the resolver finishing an interrupted reset), clears the stored lock, audits.
  directory::Answer unlock_with_reset(directory::Directory& d, const std::string& actor, const std::string& client,
                                      int64_t user_id, const std::string& username, const std::string& dn);
  // The directory's lockout of `u` read live (a details read); stored when it
  // changed. Waits at most kLiveLockWaitMs; later, the stored state stands.
  void refresh_directory_lock(storage::UserRecord& u);
  static constexpr int kLiveLockWaitMs = 1500;
  // Sign-in of a directory user whose temporary password is past expires_at:
  // true = it is still the one resetd set (refuse), false = changed there since.
  bool directory_temp_still_set(const storage::UserRecord& u);
  // The same, checked under the user's writer against the record the bind
  // used: busy or replaced meanwhile (the expiry sweep) = still set (refuse).
  bool expired_temp_still_current(const storage::UserRecord& u);
  // The role [directory.roles] gives someone in `groups` (the highest mapped one; "user" if none).
  static std::string role_from_groups(const directory::Config& c, const std::vector<std::string>& groups);
  // Gives directory user `u` the role the directory maps (caller writes `u`).
  // A change that takes a power away ends the user's sessions (promotions take
  // effect at the next request); the last enabled global admin keeps the role
  // (as a 409 would keep it in the API). Audited. Returns whether it changed.
  bool apply_directory_role(storage::Writer& w, storage::UserRecord& u, const std::string& role,
                            const std::string& actor, const std::string& client);
  // A directory target's role for a permission check: the stored one, or a
  // higher one the directory's groups give right now (a new admin is protected
  // before the next sync). Unavailable when the groups cannot be read.
  Result<Role> directory_target_role(const storage::UserRecord& t);
  // The role to check a directory target against for an action `may` allows
  // (may_reset, may_manage): the stored one, or, when the actor may act on that
  // role but not on a global admin, directory_target_role's (asked live).
  Result<Role> checked_target_role(Role actor, const storage::UserRecord& t, bool (*may)(Role, Role));
  Status directory_set_password(const storage::UserRecord& u, const std::string& pw,
                                const std::string& action, const std::string& client,
                                const std::function<void(storage::Writer&, storage::UserRecord&)>& finish,
                                std::shared_ptr<void> user_hold = nullptr);

 public:
  static constexpr int kCodeTtlS = 10 * 60;
  static constexpr int kCodeTries = 5;
  static constexpr int kCodesPerHour = 3;
};

// Rendered users for outbox/audit helpers.
std::string display_or_username(const storage::UserRecord& u);

}  // namespace resetd::accounts
