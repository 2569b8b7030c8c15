// Store: the one SQLite database of a data dir, in WAL mode with
// synchronous=FULL. Thread-safe: write() holds the one writer connection for
// its duration; read() takes one of a few read-only connections and never
// waits for a writer. Keep the callbacks short (never hash a password or talk
// to a relay inside one).
//
// A callback must not call read()/write() again: that throws std::logic_error.
// read() runs its callback in a read transaction and writes nothing.
// write() runs its callback in BEGIN IMMEDIATE ... COMMIT: everything the
// callback did commits together or, if it throws, not at all.
//
// Failures of the database itself throw StorageError (declared below) — the
// HTTP edge maps Kind::Full to 507, Kind::Busy to 503, the rest to 500.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

#include "resetd/storage/records.h"

namespace resetd::storage {

class StorageError : public std::runtime_error {
 public:
  enum class Kind { Busy, Full, Corrupt, TooNew, ReadOnly, Constraint, Other };
  StorageError(Kind k, const std::string& what) : std::runtime_error(what), kind_(k) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

// Read access. Valid only inside Store::read / Store::write callbacks.
class Reader {
 public:
  virtual ~Reader() = default;
  virtual std::optional<UserRecord> user_by_id(int64_t id) = 0;
  virtual std::optional<UserRecord> user_by_username(const std::string& username) = 0;
  virtual UserPage list_users(const UserQuery& q) = 0;
  virtual int64_t count_users() = 0;
  virtual int64_t count_enabled_global_admins() = 0;

  virtual std::optional<SessionRecord> session_by_token_hash(const std::string& h) = 0;
  virtual std::optional<SessionRecord> session_by_id(int64_t id) = 0;
  virtual std::vector<SessionRecord> sessions_for_user(int64_t user_id) = 0;

  virtual std::optional<OutboxRecord> outbox_by_id(int64_t id) = 0;
  virtual std::vector<OutboxRecord> outbox_list(const OutboxQuery& q) = 0;
  virtual int64_t outbox_count(const OutboxQuery& q) = 0;  // ignores offset/limit
  // queued messages whose next_attempt_at <= now, oldest first
  virtual std::vector<OutboxRecord> outbox_due(int64_t now, int limit) = 0;
  virtual int64_t outbox_pending_count() = 0;  // queued + sending
  // earliest next_attempt_at among queued messages, if any
  virtual std::optional<int64_t> outbox_next_due() = 0;

  virtual std::optional<LinkTokenRecord> link_token_by_hash(const std::string& h) = 0;

  // the newest unused code of the user, if any
  virtual std::optional<CodeRecord> latest_code(int64_t user_id) = 0;
  virtual int64_t count_codes_since(int64_t user_id, int64_t since) = 0;

  // enabled users with an email whose password was set at or before `cutoff`
  // and who have not had a reminder for that password yet
  virtual std::vector<UserRecord> users_due_reminder(int64_t cutoff) = 0;

  virtual std::vector<AuditRecord> audit_list(const AuditQuery& q) = 0;
  virtual int64_t audit_count(const AuditQuery& q) = 0;

  virtual std::optional<std::string> setting(const std::string& key) = 0;

  virtual std::optional<UserRecord> user_by_directory_id(const std::string& id) = 0;
  // every directory user (directory_id != ''), for the sync
  virtual std::vector<UserRecord> directory_users() = 0;
  virtual std::vector<DirectoryIntentRecord> intents(const std::string& state, int64_t limit) = 0;
  // Whether the user has an intent newer than `id` that completed (done or recovered).
  virtual bool intent_completed_after(int64_t user_id, int64_t id) = 0;

  virtual std::optional<SecondFactorRecord> second_factor(int64_t user_id) = 0;
  virtual std::vector<SecurityKeyRecord> security_keys(int64_t user_id) = 0;
};

// Write access: everything Reader has, plus changes. Valid only inside
// Store::write callbacks; all changes of one callback are one transaction.
class Writer : public Reader {
 public:
  virtual int64_t insert_user(const UserRecord& u) = 0;  // returns the new id
  virtual void update_user(const UserRecord& u) = 0;
  virtual void delete_user(int64_t id) = 0;

  virtual int64_t insert_session(const SessionRecord& s) = 0;
  virtual void delete_session(int64_t id) = 0;
  // every session of the user except `keep_id` (0 = none kept); returns how many
  virtual int64_t delete_sessions_for_user(int64_t user_id, int64_t keep_id = 0) = 0;
  virtual int64_t purge_expired_sessions(int64_t now) = 0;

  virtual int64_t insert_outbox(const OutboxRecord& m) = 0;
  virtual void update_outbox(const OutboxRecord& m) = 0;
  // unsent (queued/sending/failed) secret-carrying messages of the user become
  // superseded with their body erased; returns how many
  virtual int64_t supersede_secret_messages(int64_t user_id) = 0;
  // after a restart: sending -> queued (due now)
  virtual int64_t requeue_sending(int64_t now) = 0;
  // unsent secret-carrying messages whose secret expired -> expired, body erased
  virtual int64_t expire_secret_messages(int64_t now) = 0;
  // delivered/ended rows older than `before` are deleted
  virtual int64_t purge_outbox(int64_t before) = 0;

  virtual int64_t insert_link_token(const LinkTokenRecord& t) = 0;
  virtual void mark_link_token_used(int64_t id, int64_t now) = 0;
  virtual int64_t invalidate_link_tokens(int64_t user_id, int64_t now) = 0;

  virtual int64_t insert_code(const CodeRecord& c) = 0;
  virtual void update_code(const CodeRecord& c) = 0;
  // every unused code of the user becomes used (superseded); returns how many
  virtual int64_t invalidate_codes(int64_t user_id, int64_t now) = 0;
  virtual int64_t purge_codes(int64_t before) = 0;

  virtual void append_audit(const AuditRecord& a) = 0;
  virtual int64_t purge_audit(int64_t before) = 0;

  virtual void put_setting(const std::string& key, const std::string& value) = 0;

  virtual int64_t insert_intent(const DirectoryIntentRecord& i) = 0;
  // sets state/detail/resolved_at and erases the sealed payload
  virtual void close_intent(int64_t id, const std::string& state, const std::string& detail,
                            int64_t now) = 0;
  // closed intents resolved before `before` are deleted (open ones never); returns how many
  virtual int64_t purge_intents(int64_t before) = 0;

  // inserts or replaces the user's row
  virtual void put_second_factor(const SecondFactorRecord& f) = 0;
  // returns whether there was one
  virtual bool delete_second_factor(int64_t user_id) = 0;
  virtual int64_t insert_security_key(const SecurityKeyRecord& k) = 0;  // the new id; 0 if the credential id is taken
  // a use: the new counter and when
  virtual void touch_security_key(int64_t id, int64_t sign_count, int64_t at) = 0;
  // one key of the user (id > 0) or all of them (id == 0); returns how many
  virtual int64_t delete_security_keys(int64_t user_id, int64_t id) = 0;
};

struct OpenOptions {
  int busy_timeout_ms = 5000;
  bool create = true;       // create the file if missing
  bool migrate = true;      // apply pending migrations (with pre-vN snapshots)
  bool quick_check = true;  // run PRAGMA quick_check at open
  // The service: skip the quick_check when the last run closed the database
  // cleanly and the file is exactly as it left it (device, inode, size, mtime,
  // no -wal file), and leave that mark again at a clean close. After a crash,
  // a SIGKILL or any change by something else, the full check runs.
  bool trust_clean_stop = false;
  // The writer's page cache in MiB (0: SQLite's default, 2 MiB). A bulk load
  // whose indexes outgrow the cache rewrites most of their pages at every
  // commit; with room for them all it writes each page once.
  int cache_mib = 0;
};

class Store {
 public:
  // Opens (and creates) data_dir/resetd.db. Throws StorageError: Corrupt when
  // quick_check fails (the file is left untouched), TooNew when the database's
  // schema is newer than this binary (message names both versions).
  static std::unique_ptr<Store> open(const std::string& data_dir, const OpenOptions& o = {});
  virtual ~Store() = default;

  virtual void read(const std::function<void(Reader&)>& fn) = 0;
  virtual void write(const std::function<void(Writer&)>& fn) = 0;
  // write() committed to the WAL without waiting for flash (synchronous=NORMAL
  // for this one transaction; SQLite allows the switch only between
  // transactions, and the writer lock makes it ours). It becomes durable with
  // the next write(), whose WAL sync covers every earlier frame; a power cut
  // before that loses this transaction alone, never anything committed before
  // it. Only for changes that are harmless to lose and redo — the outbox
  // claim, which a restart would undo anyway (at-least-once, same Message-ID).
  virtual void write_unsynced(const std::function<void(Writer&)>& fn) = 0;

  // Consistent online snapshot into `path` (VACUUM INTO); the file must not exist.
  virtual void backup_to(const std::string& path) = 0;
  // "ok" or the first problem PRAGMA integrity_check reports.
  virtual std::string integrity_check() = 0;
  virtual int schema_version() = 0;

  // A number that changes after every commit to the database: by this
  // process (bumped when the commit returns) or by another one, e.g. the CLI's
  // break-glass reset (seen through PRAGMA data_version by the read this call
  // runs). What a read returned may be reused while this value stays the same,
  // provided the value was taken *before* that read began. An implementation
  // that cannot tell returns a new value on every call (nothing is reused).
  virtual uint64_t data_generation() { return unknown_generation_.fetch_add(1) + 1; }

  // The schema version this binary knows (number of embedded migrations).
  static int binary_schema_version();

  // Told of each audit row once the transaction that appended it committed
  // (never of one rolled back), in commit order, on the writing thread while
  // the writer is still held: it must be quick, must not throw and must not use
  // the store. Set once, before the store is shared between threads.
  using AuditListener = std::function<void(const AuditRecord&)>;
  void set_audit_listener(AuditListener l) { audit_listener_ = std::move(l); }

 protected:
  const AuditListener& audit_listener() const { return audit_listener_; }

 private:
  std::atomic<uint64_t> unknown_generation_{0};
  AuditListener audit_listener_;
};

}  // namespace resetd::storage
