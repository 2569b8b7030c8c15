// SqliteStore: Store over one SQLiteCpp connection guarded by a mutex.
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <SQLiteCpp/SQLiteCpp.h>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <condition_variable>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "migrations.h"
#include "sqlite_conn.h"
#include "intent_queries.h"
#include "second_factor_queries.h"
#include "records_sql.h"
#include "sqlite_errors.h"
#include "user_list.h"
#include "resetd/storage/store.h"

namespace fs = std::filesystem;

namespace resetd::storage {
namespace {

class SqliteTx final : public Writer {
 public:
  explicit SqliteTx(Conn& c) : conn_(c) {}

  // Where append_audit() also keeps its rows, for the audit listener (null: nowhere).
  std::vector<AuditRecord>* appended_audit = nullptr;

  std::optional<UserRecord> user_by_id(int64_t id) override {
    SQLite::Statement& s = stmt(std::string("SELECT ") + kUserCols + " FROM users WHERE id = ?");
    s.bind(1, static_cast<int64_t>(id));
    if (!s.executeStep()) return std::nullopt;
    return read_user(s);
  }
  std::optional<UserRecord> user_by_directory_id(const std::string& id) override {
    SQLite::Statement& s = stmt(std::string("SELECT ") + kUserCols + " FROM users WHERE directory_id = ? "
                        "AND directory_id != ''");
    s.bind(1, id);
    if (!s.executeStep()) return std::nullopt;
    return read_user(s);
  }
  std::vector<UserRecord> directory_users() override {
    SQLite::Statement& s = stmt(std::string("SELECT ") + kUserCols +
                                 " FROM users WHERE directory_id != ''");
    std::vector<UserRecord> out;
    while (s.executeStep()) out.push_back(read_user(s));
    return out;
  }
  std::vector<DirectoryIntentRecord> intents(const std::string& state, int64_t limit) override {
    SQLite::Statement& s = stmt("SELECT id, user_id, username, directory_dn, action, actor, client, "
                        "sealed, state, detail, created_at, resolved_at FROM directory_intents "
                        "WHERE (? = '' OR state = ?) ORDER BY id DESC LIMIT ?");
    s.bind(1, state);
    s.bind(2, state);
    s.bind(3, static_cast<int64_t>(limit));
    std::vector<DirectoryIntentRecord> out;
    while (s.executeStep()) {
      DirectoryIntentRecord r;
      r.id = s.getColumn(0).getInt64();
      r.user_id = opt_i64(s.getColumn(1));
      r.username = s.getColumn(2).getString();
      r.directory_dn = s.getColumn(3).getString();
      r.action = s.getColumn(4).getString();
      r.actor = s.getColumn(5).getString();
      r.client = s.getColumn(6).getString();
      r.sealed = blob(s.getColumn(7));
      r.state = s.getColumn(8).getString();
      r.detail = s.getColumn(9).getString();
      r.created_at = s.getColumn(10).getInt64();
      r.resolved_at = opt_i64(s.getColumn(11));
      out.push_back(std::move(r));
    }
    return out;
  }
  std::optional<UserRecord> user_by_username(const std::string& username) override {
    SQLite::Statement& s = stmt(std::string("SELECT ") + kUserCols + " FROM users WHERE username = ?");
    s.bind(1, username);
    if (!s.executeStep()) return std::nullopt;
    return read_user(s);
  }
  // Where list totals are kept across writes (count_memo.h): set for read
  // transactions only, whose snapshot is committed.
  CountMemo* count_memo = nullptr;

  UserPage list_users(const UserQuery& q) override { return user_list::page(conn_, q, count_memo); }

  int64_t count_users() override { return scalar("SELECT coalesce(sum(n), 0) FROM user_counts"); }
  int64_t count_enabled_global_admins() override {
    return scalar("SELECT count(*) FROM users WHERE role = 'global_admin' AND disabled = 0");
  }

  std::optional<SessionRecord> session_by_token_hash(const std::string& h) override {
    SQLite::Statement& s = stmt(std::string("SELECT ") + kSessionCols +
                                 " FROM sessions WHERE token_hash = ?");
    s.bind(1, h);
    if (!s.executeStep()) return std::nullopt;
    return read_session(s);
  }
  std::optional<SessionRecord> session_by_id(int64_t id) override {
    SQLite::Statement& s = stmt(std::string("SELECT ") + kSessionCols + " FROM sessions WHERE id = ?");
    s.bind(1, static_cast<int64_t>(id));
    if (!s.executeStep()) return std::nullopt;
    return read_session(s);
  }
  std::vector<SessionRecord> sessions_for_user(int64_t user_id) override {
    SQLite::Statement& s = stmt(std::string("SELECT ") + kSessionCols +
                                 " FROM sessions WHERE user_id = ? ORDER BY id");
    s.bind(1, static_cast<int64_t>(user_id));
    std::vector<SessionRecord> out;
    while (s.executeStep()) out.push_back(read_session(s));
    return out;
  }

  std::optional<OutboxRecord> outbox_by_id(int64_t id) override {
    SQLite::Statement& s = stmt(std::string("SELECT ") + kOutboxCols + " FROM outbox WHERE id = ?");
    s.bind(1, static_cast<int64_t>(id));
    if (!s.executeStep()) return std::nullopt;
    return read_outbox(s);
  }
  static std::string outbox_where(const OutboxQuery& q) {
    std::string w = " WHERE 1=1";
    if (!q.state.empty()) w += " AND state = :state";
    if (q.user_id) w += " AND user_id = :uid";
    return w;
  }
  static void outbox_bind(SQLite::Statement& s, const OutboxQuery& q) {
    if (!q.state.empty()) s.bind(":state", q.state);
    if (q.user_id) s.bind(":uid", static_cast<int64_t>(*q.user_id));
  }
  int64_t outbox_count(const OutboxQuery& q) override {
    SQLite::Statement& s = stmt("SELECT count(*) FROM outbox" + outbox_where(q));
    outbox_bind(s, q);
    s.executeStep();
    return s.getColumn(0).getInt64();
  }
  std::vector<OutboxRecord> outbox_list(const OutboxQuery& q) override {
    SQLite::Statement& s = stmt(std::string("SELECT ") + kOutboxCols + " FROM outbox" + outbox_where(q) +
                                 " ORDER BY id DESC LIMIT :limit OFFSET :offset");
    outbox_bind(s, q);
    s.bind(":limit", static_cast<int64_t>(q.limit));
    s.bind(":offset", static_cast<int64_t>(q.offset));
    std::vector<OutboxRecord> out;
    while (s.executeStep()) out.push_back(read_outbox(s));
    return out;
  }
  std::vector<OutboxRecord> outbox_due(int64_t now, int limit) override {
    SQLite::Statement& s = stmt(std::string("SELECT ") + kOutboxCols +
                                 " FROM outbox WHERE state = 'queued' AND next_attempt_at <= ?"
                                 " ORDER BY next_attempt_at, id LIMIT ?");
    s.bind(1, static_cast<int64_t>(now));
    s.bind(2, limit);
    std::vector<OutboxRecord> out;
    while (s.executeStep()) out.push_back(read_outbox(s));
    return out;
  }
  int64_t outbox_pending_count() override {
    return scalar("SELECT count(*) FROM outbox WHERE state IN ('queued','sending')");
  }
  std::optional<int64_t> outbox_next_due() override {
    SQLite::Statement& s = stmt("SELECT min(next_attempt_at) FROM outbox WHERE state = 'queued'");
    s.executeStep();
    return opt_i64(s.getColumn(0));
  }

  std::optional<LinkTokenRecord> link_token_by_hash(const std::string& h) override {
    SQLite::Statement& s = stmt("SELECT id, user_id, token_hash, expires_at, used_at, created_at "
                        "FROM link_tokens WHERE token_hash = ?");
    s.bind(1, h);
    if (!s.executeStep()) return std::nullopt;
    LinkTokenRecord t;
    t.id = s.getColumn(0).getInt64();
    t.user_id = s.getColumn(1).getInt64();
    t.token_hash = s.getColumn(2).getString();
    t.expires_at = s.getColumn(3).getInt64();
    t.used_at = opt_i64(s.getColumn(4));
    t.created_at = s.getColumn(5).getInt64();
    return t;
  }

  std::optional<CodeRecord> latest_code(int64_t user_id) override {
    SQLite::Statement& s = stmt("SELECT id, user_id, code_mac, expires_at, tries, used_at, created_at "
                        "FROM self_service_codes WHERE user_id = ? AND used_at IS NULL "
                        "ORDER BY id DESC LIMIT 1");
    s.bind(1, static_cast<int64_t>(user_id));
    if (!s.executeStep()) return std::nullopt;
    CodeRecord c;
    c.id = s.getColumn(0).getInt64();
    c.user_id = s.getColumn(1).getInt64();
    c.code_mac = s.getColumn(2).getString();
    c.expires_at = s.getColumn(3).getInt64();
    c.tries = s.getColumn(4).getInt();
    c.used_at = opt_i64(s.getColumn(5));
    c.created_at = s.getColumn(6).getInt64();
    return c;
  }
  int64_t count_codes_since(int64_t user_id, int64_t since) override {
    SQLite::Statement& s = stmt("SELECT count(*) FROM self_service_codes WHERE user_id = ? AND created_at >= ?");
    s.bind(1, static_cast<int64_t>(user_id));
    s.bind(2, static_cast<int64_t>(since));
    s.executeStep();
    return s.getColumn(0).getInt64();
  }
  std::vector<UserRecord> users_due_reminder(int64_t cutoff) override {
    SQLite::Statement& s = stmt(std::string("SELECT ") + kUserCols +
                                 " FROM users WHERE disabled = 0 AND email != '' AND "
                                 "password_hash != '' AND password_changed_at IS NOT NULL AND "
                                 "password_changed_at <= ? AND (reminder_sent_for IS NULL OR "
                                 "reminder_sent_for != password_changed_at) ORDER BY id");
    s.bind(1, static_cast<int64_t>(cutoff));
    std::vector<UserRecord> out;
    while (s.executeStep()) out.push_back(read_user(s));
    return out;
  }

  std::vector<AuditRecord> audit_list(const AuditQuery& q) override {
    SQLite::Statement& s = stmt("SELECT id, at, actor, client, action, target, outcome, detail FROM audit" +
                            audit_where(q) + " ORDER BY id DESC LIMIT :limit OFFSET :offset");
    audit_bind(s, q);
    s.bind(":limit", static_cast<int64_t>(q.limit));
    s.bind(":offset", static_cast<int64_t>(q.offset));
    std::vector<AuditRecord> out;
    while (s.executeStep()) out.push_back(read_audit(s));
    return out;
  }
  int64_t audit_count(const AuditQuery& q) override {
    SQLite::Statement& s = stmt("SELECT count(*) FROM audit" + audit_where(q));
    audit_bind(s, q);
    s.executeStep();
    return s.getColumn(0).getInt64();
  }

  std::optional<std::string> setting(const std::string& key) override {
    SQLite::Statement& s = stmt("SELECT value FROM settings WHERE key = ?");
    s.bind(1, key);
    if (!s.executeStep()) return std::nullopt;
    return s.getColumn(0).getString();
  }

  // ---- Writer ----
  int64_t insert_user(const UserRecord& u) override {
    SQLite::Statement& s = stmt("INSERT INTO users (username, display_name, email, alternate_email, role, "
                        "locale, search_text, password_hash, must_change, temp_expires_at, "
                        "password_changed_at, disabled, failed_logins, last_failed_at, "
                        "locked_until, reminder_sent_for, created_at, updated_at, directory_id, "
                        "directory_dn, directory_locked) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    bind_user(s, u);
    s.exec();
    return conn_.db->getLastInsertRowid();
  }
  void update_user(const UserRecord& u) override {
    SQLite::Statement& s = stmt("UPDATE users SET username=?, display_name=?, email=?, alternate_email=?, "
                        "role=?, locale=?, search_text=?, password_hash=?, must_change=?, "
                        "temp_expires_at=?, password_changed_at=?, disabled=?, failed_logins=?, "
                        "last_failed_at=?, locked_until=?, reminder_sent_for=?, created_at=?, "
                        "updated_at=?, directory_id=?, directory_dn=?, directory_locked=? WHERE id=?");
    bind_user(s, u);
    s.bind(22, static_cast<int64_t>(u.id));
    s.exec();
  }
  void delete_user(int64_t id) override { exec_id("DELETE FROM users WHERE id = ?", id); }

  int64_t insert_session(const SessionRecord& r) override {
    SQLite::Statement& s = stmt("INSERT INTO sessions (user_id, token_hash, must_change, created_at, "
                        "expires_at, client_addr, user_agent) VALUES (?,?,?,?,?,?,?)");
    s.bind(1, static_cast<int64_t>(r.user_id));
    s.bind(2, r.token_hash);
    s.bind(3, r.must_change ? 1 : 0);
    s.bind(4, static_cast<int64_t>(r.created_at));
    s.bind(5, static_cast<int64_t>(r.expires_at));
    s.bind(6, r.client_addr);
    s.bind(7, r.user_agent);
    s.exec();
    return conn_.db->getLastInsertRowid();
  }
  void delete_session(int64_t id) override { exec_id("DELETE FROM sessions WHERE id = ?", id); }
  int64_t delete_sessions_for_user(int64_t user_id, int64_t keep_id) override {
    SQLite::Statement& s = stmt("DELETE FROM sessions WHERE user_id = ? AND id != ?");
    s.bind(1, static_cast<int64_t>(user_id));
    s.bind(2, static_cast<int64_t>(keep_id));
    return s.exec();
  }
  int64_t purge_expired_sessions(int64_t now) override {
    return exec_id("DELETE FROM sessions WHERE expires_at <= ?", now);
  }

  int64_t insert_outbox(const OutboxRecord& m) override {
    SQLite::Statement& s = stmt("INSERT INTO outbox (user_id, kind, recipient, locale, subject, body, "
                        "carries_secret, secret_expires_at, state, attempts, next_attempt_at, "
                        "last_answer, message_id, created_at, sent_at) VALUES "
                        "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    bind_outbox(s, m);
    s.exec();
    return conn_.db->getLastInsertRowid();
  }
  void update_outbox(const OutboxRecord& m) override {
    SQLite::Statement& s = stmt("UPDATE outbox SET user_id=?, kind=?, recipient=?, locale=?, subject=?, "
                        "body=?, carries_secret=?, secret_expires_at=?, state=?, attempts=?, "
                        "next_attempt_at=?, last_answer=?, message_id=?, created_at=?, sent_at=? "
                        "WHERE id=?");
    bind_outbox(s, m);
    s.bind(16, static_cast<int64_t>(m.id));
    s.exec();
  }
  int64_t supersede_secret_messages(int64_t user_id) override {
    return exec_id(
        "UPDATE outbox SET state='superseded', body=x'' WHERE user_id = ? AND carries_secret = 1 "
        "AND state IN ('queued','sending','failed')",
        user_id);
  }
  int64_t requeue_sending(int64_t now) override {
    return exec_id("UPDATE outbox SET state='queued', next_attempt_at=?1 WHERE state='sending'",
                   now);
  }
  int64_t expire_secret_messages(int64_t now) override {
    return exec_id(
        "UPDATE outbox SET state='expired', body=x'', last_answer=CASE WHEN last_answer='' THEN "
        "'secret expired before delivery' ELSE last_answer END WHERE carries_secret = 1 AND "
        "state IN ('queued','sending','failed') AND secret_expires_at IS NOT NULL AND "
        "secret_expires_at <= ?",
        now);
  }
  int64_t purge_outbox(int64_t before) override {
    return exec_id(
        "DELETE FROM outbox WHERE state IN ('sent','failed','superseded','expired') AND "
        "created_at < ?",
        before);
  }

  int64_t insert_link_token(const LinkTokenRecord& t) override {
    SQLite::Statement& s = stmt("INSERT INTO link_tokens (user_id, token_hash, expires_at, used_at, "
                        "created_at) VALUES (?,?,?,?,?)");
    s.bind(1, static_cast<int64_t>(t.user_id));
    s.bind(2, t.token_hash);
    s.bind(3, static_cast<int64_t>(t.expires_at));
    bind_opt(s, 4, t.used_at);
    s.bind(5, static_cast<int64_t>(t.created_at));
    s.exec();
    return conn_.db->getLastInsertRowid();
  }
  void mark_link_token_used(int64_t id, int64_t now) override {
    SQLite::Statement& s = stmt("UPDATE link_tokens SET used_at = ? WHERE id = ?");
    s.bind(1, static_cast<int64_t>(now));
    s.bind(2, static_cast<int64_t>(id));
    s.exec();
  }
  int64_t invalidate_link_tokens(int64_t user_id, int64_t now) override {
    SQLite::Statement& s = stmt("UPDATE link_tokens SET used_at = ? WHERE user_id = ? AND used_at IS NULL");
    s.bind(1, static_cast<int64_t>(now));
    s.bind(2, static_cast<int64_t>(user_id));
    return s.exec();
  }

  int64_t insert_code(const CodeRecord& c) override {
    SQLite::Statement& s = stmt("INSERT INTO self_service_codes (user_id, code_mac, expires_at, tries, "
                        "used_at, created_at) VALUES (?,?,?,?,?,?)");
    s.bind(1, static_cast<int64_t>(c.user_id));
    s.bind(2, c.code_mac);
    s.bind(3, static_cast<int64_t>(c.expires_at));
    s.bind(4, c.tries);
    bind_opt(s, 5, c.used_at);
    s.bind(6, static_cast<int64_t>(c.created_at));
    s.exec();
    return conn_.db->getLastInsertRowid();
  }
  void update_code(const CodeRecord& c) override {
    SQLite::Statement& s = stmt("UPDATE self_service_codes SET tries = ?, used_at = ? WHERE id = ?");
    s.bind(1, c.tries);
    bind_opt(s, 2, c.used_at);
    s.bind(3, static_cast<int64_t>(c.id));
    s.exec();
  }
  int64_t invalidate_codes(int64_t user_id, int64_t now) override {
    SQLite::Statement& s = stmt("UPDATE self_service_codes SET used_at = ? WHERE user_id = ? AND used_at IS NULL");
    s.bind(1, static_cast<int64_t>(now));
    s.bind(2, static_cast<int64_t>(user_id));
    return s.exec();
  }
  int64_t purge_codes(int64_t before) override {
    return exec_id("DELETE FROM self_service_codes WHERE created_at < ?", before);
  }

  void append_audit(const AuditRecord& a) override {
    SQLite::Statement& s = stmt("INSERT INTO audit (at, actor, client, action, target, outcome, detail) "
                        "VALUES (?,?,?,?,?,?,?)");
    s.bind(1, static_cast<int64_t>(a.at));
    s.bind(2, a.actor);
    s.bind(3, a.client);
    s.bind(4, a.action);
    s.bind(5, a.target);
    s.bind(6, a.outcome);
    s.bind(7, a.detail);
    s.exec();
    if (appended_audit) appended_audit->push_back(a);
  }
  int64_t purge_audit(int64_t before) override {
    return exec_id("DELETE FROM audit WHERE at < ?", before);
  }

  void put_setting(const std::string& key, const std::string& value) override {
    SQLite::Statement& s = stmt("INSERT INTO settings (key, value) VALUES (?, ?) "
                        "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
    s.bind(1, key);
    s.bind(2, value);
    s.exec();
  }

  int64_t insert_intent(const DirectoryIntentRecord& i) override {
    SQLite::Statement& s = stmt("INSERT INTO directory_intents (user_id, username, directory_dn, action, "
                        "actor, client, sealed, state, detail, created_at) "
                        "VALUES (?,?,?,?,?,?,?,?,?,?)");
    bind_opt(s, 1, i.user_id);
    s.bind(2, i.username);
    s.bind(3, i.directory_dn);
    s.bind(4, i.action);
    s.bind(5, i.actor);
    s.bind(6, i.client);
    s.bind(7, i.sealed.data(), static_cast<int>(i.sealed.size()));
    s.bind(8, i.state);
    s.bind(9, i.detail);
    s.bind(10, static_cast<int64_t>(i.created_at));
    s.exec();
    return conn_.db->getLastInsertRowid();
  }
  bool intent_completed_after(int64_t user_id, int64_t id) override {
    return intent_queries::completed_after(conn_, user_id, id);
  }
  int64_t purge_intents(int64_t before) override { return intent_queries::purge_closed(conn_, before); }
  std::optional<SecondFactorRecord> second_factor(int64_t user_id) override {
    return second_factor_queries::get(conn_, user_id);
  }
  void put_second_factor(const SecondFactorRecord& f) override { second_factor_queries::put(conn_, f); }
  bool delete_second_factor(int64_t user_id) override { return second_factor_queries::remove(conn_, user_id); }
  std::vector<SecurityKeyRecord> security_keys(int64_t user_id) override {
    return second_factor_queries::keys(conn_, user_id);
  }
  int64_t insert_security_key(const SecurityKeyRecord& k) override { return second_factor_queries::insert_key(conn_, k); }
  void touch_security_key(int64_t id, int64_t n, int64_t at) override { second_factor_queries::touch_key(conn_, id, n, at); }
  int64_t delete_security_keys(int64_t user_id, int64_t id) override {
    return second_factor_queries::remove_keys(conn_, user_id, id);
  }
  void close_intent(int64_t id, const std::string& state, const std::string& detail,
                    int64_t now) override {
    SQLite::Statement& s = stmt("UPDATE directory_intents SET state = ?, detail = ?, resolved_at = ?, "
                        "sealed = x'' WHERE id = ?");
    s.bind(1, state);
    s.bind(2, detail);
    s.bind(3, static_cast<int64_t>(now));
    s.bind(4, static_cast<int64_t>(id));
    s.exec();
  }

 private:
  int64_t scalar(const char* sql) {
    SQLite::Statement& s = stmt(sql);
    s.executeStep();
    return s.getColumn(0).getInt64();
  }
  int64_t exec_id(const char* sql, int64_t v) {
    SQLite::Statement& s = stmt(sql);
    s.bind(1, static_cast<int64_t>(v));
    return s.exec();
  }
  SQLite::Statement& stmt(const std::string& sql) { return conn_.stmt(sql); }
  Conn& conn_;
};

// The clean-stop mark: data_dir/resetd.clean holds the identity of
// resetd.db (device, inode, size, mtime in ns) as a clean close left it, with
// no -wal file beside it. A start that finds the file exactly so skips the
// full quick_check; any change since (a write by another program, a restore,
// a damaged copy put in place) or a stop without the mark (crash, power cut,
// SIGKILL) gets the full check. The mark is deleted (durably) before the
// database is opened, so it never outlives the run that trusted it.
std::string file_identity(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) return {};
  return std::to_string(st.st_dev) + " " + std::to_string(st.st_ino) + " " +
         std::to_string(st.st_size) + " " + std::to_string(st.st_mtim.tv_sec) + " " +
         std::to_string(st.st_mtim.tv_nsec);
}

void fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

class SqliteStore final : public Store {
 public:
  SqliteStore(const std::string& data_dir, const OpenOptions& o)
      : data_dir_(data_dir),
        path_((fs::path(data_dir) / "resetd.db").string()),
        mark_((fs::path(data_dir) / "resetd.clean").string()),
        busy_timeout_ms_(o.busy_timeout_ms),
        keep_mark_(o.trust_clean_stop) {
    // Before SQLite initializes (the first open): no global allocation
    // statistics, whose mutex every SQLite malloc in every thread would take;
    // and no up-front page-cache block per connection (SQLite's default is 20
    // pages, written through at open): pages are allocated as they are read,
    // 0.1 MB less idle RSS with the writer and one reader open.
    static const bool configured = [] {
      sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
      sqlite3_config(SQLITE_CONFIG_PAGECACHE, nullptr, 0, 0);
      return true;
    }();
    (void)configured;
    const std::string& path = path_;
    const bool existed = fs::exists(path);
    if (!existed && !o.create)
      throw StorageError(StorageError::Kind::Other, "no database at " + path);
    bool clean = false;
    if (o.trust_clean_stop) clean = take_clean_mark();
    try {
      // NOMUTEX: each connection is used by one thread at a time (the writer
      // under mu_, a reader while taken from the pool), so SQLite's own
      // per-connection mutex only costs.
      int flags = SQLite::OPEN_READWRITE | SQLite::OPEN_NOMUTEX | (o.create ? SQLite::OPEN_CREATE : 0);
      writer_ = std::make_unique<Conn>(std::make_unique<SQLite::Database>(path, flags, o.busy_timeout_ms));
      SQLite::Database& db = *writer_->db;
      if (existed && o.quick_check && !clean) {
        // Before anything that could write: a damaged file is never touched.
        std::string r = db.execAndGet("PRAGMA quick_check").getString();
        if (r != "ok")
          throw StorageError(StorageError::Kind::Corrupt,
                             "database " + path + " is damaged (quick_check: " + r +
                                 "); restore a backup with 'resetd restore'");
      }
      const int have = db.execAndGet("PRAGMA user_version").getInt();
      const int known = binary_schema_version();
      if (have > known)
        throw StorageError(StorageError::Kind::TooNew,
                           "database " + path + " has schema version " + std::to_string(have) +
                               ", newer than this binary's " + std::to_string(known) +
                               "; run a newer resetd or restore a backup");
      db.exec("PRAGMA journal_mode=WAL");
      db.exec("PRAGMA synchronous=FULL");
      db.exec("PRAGMA foreign_keys=ON");
      db.exec("PRAGMA secure_delete=ON");  // erased bodies leave no plaintext behind
      db.exec("PRAGMA temp_store=MEMORY");  // no temp files: the data dir is all we write
      if (o.cache_mib > 0) db.exec("PRAGMA cache_size=-" + std::to_string(o.cache_mib * 1024));
      ::chmod(path.c_str(), 0600);
      if (o.migrate && have < known) migrate(have, known);
    } catch (const SQLite::Exception& e) {
      // A full disk shows up at open as "disk I/O error" (SQLite can't size
      // its -shm file) or SQLITE_FULL: name the cause and the way out.
      const int primary = e.getErrorCode() & 0xff;
      if ((primary == SQLITE_IOERR || primary == SQLITE_FULL || primary == SQLITE_CANTOPEN) &&
          disk_is_full(data_dir))
        throw StorageError(StorageError::Kind::Full, full_disk_message(data_dir));
      StorageError t = translate(e);
      if (t.kind() == StorageError::Kind::Corrupt)
        throw StorageError(StorageError::Kind::Corrupt,
                           "database " + path + " is damaged (" + e.what() +
                               "); restore a backup with 'resetd restore'");
      throw t;
    }
  }

  ~SqliteStore() override {
    readers_.clear();
    writer_.reset();  // the last close checkpoints and removes the -wal file
    if (keep_mark_) put_clean_mark();
  }

  // A callback that calls back into the store would wait on its own mutex
  // forever; make that programming error loud instead.
  struct ReentryGuard {
    ReentryGuard() {
      if (inside_) throw std::logic_error("storage: Store used from inside a read/write callback");
      inside_ = true;
    }
    ~ReentryGuard() { inside_ = false; }
    static thread_local bool inside_;
  };

  // Reads run on read-only connections of their own (WAL: a reader sees the
  // last commit and never waits for the writer), up to kReaders at once.
  void read(const std::function<void(Reader&)>& fn) override {
    ReentryGuard guard;
    ReaderLease lease(*this);
    std::unique_ptr<Conn>& c = lease.c;
    try {
      SQLite::Transaction tx(*c->db, SQLite::TransactionBehavior::DEFERRED);
      struct Reset {
        Conn& c;
        ~Reset() { c.reset_used(); }
      } reset{*c};
      SqliteTx r(*c);
      r.count_memo = &count_memo_;
      fn(r);
      c->reset_used();
      tx.commit();
    } catch (const SQLite::Exception& e) {
      throw translate(e);
    }
  }

  void write(const std::function<void(Writer&)>& fn) override {
    ReentryGuard guard;
    std::lock_guard<std::mutex> lock(mu_);
    write_locked(fn, true);
  }

  void write_unsynced(const std::function<void(Writer&)>& fn) override {
    ReentryGuard guard;
    std::lock_guard<std::mutex> lock(mu_);
    write_locked(fn, false);
  }

  // synchronous is switched only here, between transactions: a write() after
  // an unsynced one goes back to FULL before it begins (or fails).
  void write_locked(const std::function<void(Writer&)>& fn, bool full_sync) {
    std::vector<AuditRecord> appended;
    try {
      if (full_sync_ != full_sync) {
        writer_->db->exec(full_sync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
        full_sync_ = full_sync;
      }
      SQLite::Transaction tx(*writer_->db, SQLite::TransactionBehavior::IMMEDIATE);
      struct Reset {
        Conn& c;
        ~Reset() { c.reset_used(); }
      } reset{*writer_};
      // Counted whether or not the commit happens: a spare change costs one
      // rebuilt answer, a missed one a stale answer.
      struct Bump {
        std::atomic<uint64_t>& g;
        ~Bump() { g.fetch_add(1); }
      } bump{generation_};
      SqliteTx w(*writer_);
      if (audit_listener()) w.appended_audit = &appended;
      fn(w);
      writer_->reset_used();
      tx.commit();
    } catch (const SQLite::Exception& e) {
      throw translate(e);
    }
    // Committed: nothing the listener does may turn that into a reported failure.
    for (const AuditRecord& a : appended) {
      try {
        audit_listener()(a);
      } catch (...) {
      }
    }
  }

  // Every connection's first look after a commit by another process sees
  // data_version differ from its last look (or looks for the first time) and
  // counts one change; the value returned is read after that, and so after
  // every commit that finished before this call began.
  uint64_t data_generation() override {
    ReentryGuard guard;
    ReaderLease lease(*this);
    std::unique_ptr<Conn>& c = lease.c;
    try {
      SQLite::Statement& s = c->stmt("PRAGMA data_version");
      const int64_t v = s.executeStep() ? s.getColumn(0).getInt64() : -2;
      c->reset_used();
      if (v != c->data_version || v == -2) {
        c->data_version = v;
        generation_.fetch_add(1);
      }
    } catch (const SQLite::Exception& e) {
      c->reset_used();
      throw translate(e);
    }
    return generation_.load();
  }

  void backup_to(const std::string& path) override {
    std::lock_guard<std::mutex> lock(mu_);
    // The snapshot holds every hash and sealed secret: create it 0600 before
    // SQLite writes a byte. SQLite gives its journal the main file's mode, and
    // VACUUM INTO accepts an empty existing file.
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
      throw StorageError(StorageError::Kind::Other,
                         "cannot create " + path + ": " + std::strerror(errno));
    const bool private_mode = ::fchmod(fd, 0600) == 0;  // whatever the umask
    ::close(fd);
    if (!private_mode) {
      ::unlink(path.c_str());
      throw StorageError(StorageError::Kind::Other, "cannot make " + path + " private");
    }
    try {
      SQLite::Statement s(*writer_->db, "VACUUM INTO ?");
      s.bind(1, path);
      s.exec();
    } catch (const SQLite::Exception& e) {
      ::unlink(path.c_str());
      throw translate(e);
    }
  }

  std::string integrity_check() override {
    std::lock_guard<std::mutex> lock(mu_);
    try {
      return writer_->db->execAndGet("PRAGMA integrity_check").getString();
    } catch (const SQLite::Exception& e) {
      return e.what();
    }
  }

  int schema_version() override {
    std::lock_guard<std::mutex> lock(mu_);
    return writer_->db->execAndGet("PRAGMA user_version").getInt();
  }

 private:
  static constexpr size_t kReaders = 2;

  // A reader connection for one scope, given back at its end (also on a throw).
  struct ReaderLease {
    SqliteStore& st;
    std::unique_ptr<Conn> c;
    explicit ReaderLease(SqliteStore& s) : st(s), c(s.take_reader()) {}
    ~ReaderLease() { st.give_reader(std::move(c)); }
    ReaderLease(const ReaderLease&) = delete;
    ReaderLease& operator=(const ReaderLease&) = delete;
  };

  std::unique_ptr<Conn> take_reader() {
    std::unique_lock<std::mutex> lock(rmu_);
    rcv_.wait(lock, [&] { return !readers_.empty() || open_readers_ < kReaders; });
    if (!readers_.empty()) {
      auto c = std::move(readers_.back());
      readers_.pop_back();
      return c;
    }
    ++open_readers_;
    lock.unlock();
    try {
      auto db = std::make_unique<SQLite::Database>(path_, SQLite::OPEN_READONLY | SQLite::OPEN_NOMUTEX,
                                                  busy_timeout_ms_);
      db->exec("PRAGMA temp_store=MEMORY");
      return std::make_unique<Conn>(std::move(db));
    } catch (const SQLite::Exception& e) {
      {
        std::lock_guard<std::mutex> l(rmu_);
        --open_readers_;
      }
      rcv_.notify_one();
      throw translate(e);
    }
  }
  void give_reader(std::unique_ptr<Conn> c) {
    {
      std::lock_guard<std::mutex> lock(rmu_);
      readers_.push_back(std::move(c));
    }
    rcv_.notify_one();
  }

  // True when the mark matches the file as it is now; the mark is gone after.
  bool take_clean_mark() {
    std::string want;
    {
      std::ifstream in(mark_);
      if (!in) return false;
      std::getline(in, want);
    }
    const bool ok = !want.empty() && want == file_identity(path_) && !fs::exists(path_ + "-wal");
    ::unlink(mark_.c_str());
    fsync_dir(data_dir_);  // a crash in this run must not find the mark again
    return ok;
  }
  void put_clean_mark() {
    if (fs::exists(path_ + "-wal")) return;  // another process still has it open
    const std::string id = file_identity(path_);
    if (id.empty()) return;
    const std::string tmp = mark_ + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return;
    const std::string line = id + "\n";
    const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
                    ::fsync(fd) == 0;
    ::close(fd);
    if (ok && ::rename(tmp.c_str(), mark_.c_str()) == 0) fsync_dir(data_dir_);
    else ::unlink(tmp.c_str());
  }

  void migrate(int have, int known) {
    if (have > 0) snapshot_before(known);
    const auto& all = migrations();
    SQLite::Database& db = *writer_->db;
    for (int v = have; v < known; ++v) {
      SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
      db.exec(all[static_cast<size_t>(v)].sql);
      db.exec("PRAGMA user_version = " + std::to_string(v + 1));
      tx.commit();
    }
  }

  // data_dir/backups/pre-vN.db, keeping the last two.
  void snapshot_before(int target) {
    fs::path dir = fs::path(data_dir_) / "backups";
    fs::create_directories(dir);
    ::chmod(dir.c_str(), 0700);
    fs::path snap = dir / ("pre-v" + std::to_string(target) + ".db");
    fs::remove(snap);
    SQLite::Statement s(*writer_->db, "VACUUM INTO ?");
    s.bind(1, snap.string());
    s.exec();
    ::chmod(snap.c_str(), 0600);
    std::vector<std::pair<int, fs::path>> snaps;
    for (const auto& e : fs::directory_iterator(dir)) {
      std::string n = e.path().filename().string();
      if (n.rfind("pre-v", 0) == 0 && n.size() > 8 && n.ends_with(".db")) {
        try {
          snaps.emplace_back(std::stoi(n.substr(5, n.size() - 8)), e.path());
        } catch (...) {
        }
      }
    }
    std::sort(snaps.begin(), snaps.end());
    while (snaps.size() > 2) {
      fs::remove(snaps.front().second);
      snaps.erase(snaps.begin());
    }
  }

  std::string data_dir_;
  std::string path_;
  std::string mark_;
  int busy_timeout_ms_;
  bool keep_mark_;
  std::mutex mu_;  // the writer
  bool full_sync_ = true;  // the writer's synchronous setting: FULL, or NORMAL after write_unsynced()
  std::unique_ptr<Conn> writer_;
  std::atomic<uint64_t> generation_{1};  // see data_generation()
  CountMemo count_memo_;
  std::mutex rmu_;  // the reader pool
  std::condition_variable rcv_;
  std::vector<std::unique_ptr<Conn>> readers_;
  size_t open_readers_ = 0;
};

thread_local bool SqliteStore::ReentryGuard::inside_ = false;

}  // namespace

std::unique_ptr<Store> Store::open(const std::string& data_dir, const OpenOptions& o) {
  return std::make_unique<SqliteStore>(data_dir, o);
}

}  // namespace resetd::storage
