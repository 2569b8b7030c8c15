// SqliteTx: the Reader/Writer of one SQLite transaction, opened by the store
// (sqlite_store.cpp) on its writer or a pooled reader connection. Internal to
// storage/src.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "count_memo.h"
#include "resetd/storage/store.h"
#include "sqlite_conn.h"

namespace resetd::storage {

// Every query runs on the caller's connection, inside the transaction the
// store began; statements are prepared once per connection (Conn::stmt).
class SqliteTx final : public Writer {
 public:
  explicit SqliteTx(Conn& c) : conn_(c) {}

  // Where append_audit() also keeps its rows, for the audit listener (null: nowhere).
  std::vector<AuditRecord>* appended_audit = nullptr;

  std::optional<UserRecord> user_by_id(int64_t id) override;
  std::optional<UserRecord> user_by_directory_id(const std::string& id) override;
  std::vector<UserRecord> directory_users() override;
  std::vector<DirectoryIntentRecord> intents(const std::string& state, int64_t limit) override;
  std::optional<UserRecord> user_by_username(const std::string& username) override;
  // Where list totals are kept across writes (count_memo.h): set for read
  // transactions only, whose snapshot is committed.
  CountMemo* count_memo = nullptr;

  UserPage list_users(const UserQuery& q) override;

  int64_t count_users() override;
  int64_t count_enabled_global_admins() override;

  std::optional<SessionRecord> session_by_token_hash(const std::string& h) override;
  std::optional<SessionRecord> session_by_id(int64_t id) override;
  std::vector<SessionRecord> sessions_for_user(int64_t user_id) override;

  std::optional<OutboxRecord> outbox_by_id(int64_t id) override;
  int64_t outbox_count(const OutboxQuery& q) override;
  std::vector<OutboxRecord> outbox_list(const OutboxQuery& q) override;
  std::vector<OutboxRecord> outbox_due(int64_t now, int limit) override;
  int64_t outbox_pending_count() override;
  std::optional<int64_t> outbox_next_due() override;

  std::optional<LinkTokenRecord> link_token_by_hash(const std::string& h) override;

  std::optional<CodeRecord> latest_code(int64_t user_id) override;
  int64_t count_codes_since(int64_t user_id, int64_t since) override;
  std::vector<UserRecord> users_due_reminder(int64_t cutoff) override;

  std::vector<AuditRecord> audit_list(const AuditQuery& q) override;
  int64_t audit_count(const AuditQuery& q) override;

  std::optional<std::string> setting(const std::string& key) override;

  // ---- Writer ----
  int64_t insert_user(const UserRecord& u) override;
  void update_user(const UserRecord& u) override;
  void delete_user(int64_t id) override;

  int64_t insert_session(const SessionRecord& r) override;
  void delete_session(int64_t id) override;
  int64_t delete_sessions_for_user(int64_t user_id, int64_t keep_id) override;
  int64_t purge_expired_sessions(int64_t now) override;

  int64_t insert_outbox(const OutboxRecord& m) override;
  void update_outbox(const OutboxRecord& m) override;
  int64_t supersede_secret_messages(int64_t user_id) override;
  int64_t requeue_sending(int64_t now) override;
  int64_t expire_secret_messages(int64_t now) override;
  int64_t purge_outbox(int64_t before) override;

  int64_t insert_link_token(const LinkTokenRecord& t) override;
  void mark_link_token_used(int64_t id, int64_t now) override;
  int64_t invalidate_link_tokens(int64_t user_id, int64_t now) override;

  int64_t insert_code(const CodeRecord& c) override;
  void update_code(const CodeRecord& c) override;
  int64_t invalidate_codes(int64_t user_id, int64_t now) override;
  int64_t purge_codes(int64_t before) override;

  void append_audit(const AuditRecord& a) override;
  int64_t purge_audit(int64_t before) override;

  void put_setting(const std::string& key, const std::string& value) override;

  int64_t insert_intent(const DirectoryIntentRecord& i) override;
  bool intent_completed_after(int64_t user_id, int64_t id) override;
  int64_t purge_intents(int64_t before) override;
  std::optional<SecondFactorRecord> second_factor(int64_t user_id) override;
  void put_second_factor(const SecondFactorRecord& f) override;
  bool delete_second_factor(int64_t user_id) override;
  std::vector<SecurityKeyRecord> security_keys(int64_t user_id) override;
  int64_t insert_security_key(const SecurityKeyRecord& k) override;
  void touch_security_key(int64_t id, int64_t n, int64_t at) override;
  int64_t delete_security_keys(int64_t user_id, int64_t id) override;
  void close_intent(int64_t id, const std::string& state, const std::string& detail,
                    int64_t now) override;

 private:
  int64_t scalar(const char* sql);
  int64_t exec_id(const char* sql, int64_t v);
  SQLite::Statement& stmt(const std::string& sql);

  Conn& conn_;
};

}  // namespace resetd::storage
