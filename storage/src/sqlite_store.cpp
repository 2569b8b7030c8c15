// SqliteStore: Store over one SQLiteCpp connection guarded by a mutex.
#include <sqlite3.h>
#include <sys/stat.h>

#include <SQLiteCpp/SQLiteCpp.h>
#include <algorithm>
#include <filesystem>
#include <mutex>

#include "migrations.h"
#include "resetd/storage/store.h"

namespace fs = std::filesystem;

namespace resetd::storage {
namespace {

StorageError translate(const SQLite::Exception& e) {
  using K = StorageError::Kind;
  const int code = e.getErrorCode() & 0xff;
  K k = K::Other;
  switch (code) {
    case SQLITE_FULL: k = K::Full; break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: k = K::Busy; break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: k = K::Corrupt; break;
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN: k = K::ReadOnly; break;
    case SQLITE_CONSTRAINT: k = K::Constraint; break;
    case SQLITE_IOERR:
      // ENOSPC while growing the WAL surfaces as an I/O error on some paths.
      k = (e.getExtendedErrorCode() == SQLITE_IOERR_WRITE) ? K::Full : K::Other;
      break;
    default: break;
  }
  return StorageError(k, std::string("sqlite: ") + e.what());
}

std::optional<int64_t> opt_i64(const SQLite::Column& c) {
  if (c.isNull()) return std::nullopt;
  return c.getInt64();
}

void bind_opt(SQLite::Statement& s, int idx, const std::optional<int64_t>& v) {
  if (v) s.bind(idx, static_cast<int64_t>(*v));
  else s.bind(idx);
}

std::string blob(const SQLite::Column& c) {
  const void* p = c.getBlob();
  return std::string(static_cast<const char*>(p), static_cast<size_t>(c.getBytes()));
}

const char* kUserCols =
    "id, username, display_name, email, alternate_email, role, locale, search_text, "
    "password_hash, must_change, temp_expires_at, password_changed_at, disabled, "
    "failed_logins, last_failed_at, locked_until, reminder_sent_for, created_at, updated_at, "
    "directory_id, directory_dn";

UserRecord read_user(SQLite::Statement& s) {
  UserRecord u;
  u.id = s.getColumn(0).getInt64();
  u.username = s.getColumn(1).getString();
  u.display_name = s.getColumn(2).getString();
  u.email = s.getColumn(3).getString();
  u.alternate_email = s.getColumn(4).getString();
  u.role = s.getColumn(5).getString();
  u.locale = s.getColumn(6).getString();
  u.search_text = s.getColumn(7).getString();
  u.password_hash = s.getColumn(8).getString();
  u.must_change = s.getColumn(9).getInt() != 0;
  u.temp_expires_at = opt_i64(s.getColumn(10));
  u.password_changed_at = opt_i64(s.getColumn(11));
  u.disabled = s.getColumn(12).getInt() != 0;
  u.failed_logins = s.getColumn(13).getInt();
  u.last_failed_at = opt_i64(s.getColumn(14));
  u.locked_until = opt_i64(s.getColumn(15));
  u.reminder_sent_for = opt_i64(s.getColumn(16));
  u.created_at = s.getColumn(17).getInt64();
  u.updated_at = s.getColumn(18).getInt64();
  u.directory_id = s.getColumn(19).getString();
  u.directory_dn = s.getColumn(20).getString();
  return u;
}

// Binds the user fields after id, starting at parameter 1.
void bind_user(SQLite::Statement& s, const UserRecord& u) {
  s.bind(1, u.username);
  s.bind(2, u.display_name);
  s.bind(3, u.email);
  s.bind(4, u.alternate_email);
  s.bind(5, u.role);
  s.bind(6, u.locale);
  s.bind(7, u.search_text);
  s.bind(8, u.password_hash);
  s.bind(9, u.must_change ? 1 : 0);
  bind_opt(s, 10, u.temp_expires_at);
  bind_opt(s, 11, u.password_changed_at);
  s.bind(12, u.disabled ? 1 : 0);
  s.bind(13, u.failed_logins);
  bind_opt(s, 14, u.last_failed_at);
  bind_opt(s, 15, u.locked_until);
  bind_opt(s, 16, u.reminder_sent_for);
  s.bind(17, static_cast<int64_t>(u.created_at));
  s.bind(18, static_cast<int64_t>(u.updated_at));
  s.bind(19, u.directory_id);
  s.bind(20, u.directory_dn);
}

const char* kSessionCols =
    "id, user_id, token_hash, must_change, created_at, expires_at, client_addr, user_agent";

SessionRecord read_session(SQLite::Statement& s) {
  SessionRecord r;
  r.id = s.getColumn(0).getInt64();
  r.user_id = s.getColumn(1).getInt64();
  r.token_hash = s.getColumn(2).getString();
  r.must_change = s.getColumn(3).getInt() != 0;
  r.created_at = s.getColumn(4).getInt64();
  r.expires_at = s.getColumn(5).getInt64();
  r.client_addr = s.getColumn(6).getString();
  r.user_agent = s.getColumn(7).getString();
  return r;
}

const char* kOutboxCols =
    "id, user_id, kind, recipient, locale, subject, body, carries_secret, secret_expires_at, "
    "state, attempts, next_attempt_at, last_answer, message_id, created_at, sent_at";

OutboxRecord read_outbox(SQLite::Statement& s) {
  OutboxRecord m;
  m.id = s.getColumn(0).getInt64();
  m.user_id = opt_i64(s.getColumn(1));
  m.kind = s.getColumn(2).getString();
  m.recipient = s.getColumn(3).getString();
  m.locale = s.getColumn(4).getString();
  m.subject = s.getColumn(5).getString();
  m.body = blob(s.getColumn(6));
  m.carries_secret = s.getColumn(7).getInt() != 0;
  m.secret_expires_at = opt_i64(s.getColumn(8));
  m.state = s.getColumn(9).getString();
  m.attempts = s.getColumn(10).getInt();
  m.next_attempt_at = s.getColumn(11).getInt64();
  m.last_answer = s.getColumn(12).getString();
  m.message_id = s.getColumn(13).getString();
  m.created_at = s.getColumn(14).getInt64();
  m.sent_at = opt_i64(s.getColumn(15));
  return m;
}

void bind_outbox(SQLite::Statement& s, const OutboxRecord& m) {
  bind_opt(s, 1, m.user_id);
  s.bind(2, m.kind);
  s.bind(3, m.recipient);
  s.bind(4, m.locale);
  s.bind(5, m.subject);
  s.bind(6, m.body.data(), static_cast<int>(m.body.size()));
  s.bind(7, m.carries_secret ? 1 : 0);
  bind_opt(s, 8, m.secret_expires_at);
  s.bind(9, m.state);
  s.bind(10, m.attempts);
  s.bind(11, static_cast<int64_t>(m.next_attempt_at));
  s.bind(12, m.last_answer);
  s.bind(13, m.message_id);
  s.bind(14, static_cast<int64_t>(m.created_at));
  bind_opt(s, 15, m.sent_at);
}

AuditRecord read_audit(SQLite::Statement& s) {
  AuditRecord a;
  a.id = s.getColumn(0).getInt64();
  a.at = s.getColumn(1).getInt64();
  a.actor = s.getColumn(2).getString();
  a.client = s.getColumn(3).getString();
  a.action = s.getColumn(4).getString();
  a.target = s.getColumn(5).getString();
  a.outcome = s.getColumn(6).getString();
  a.detail = s.getColumn(7).getString();
  return a;
}

// WHERE clause and binder shared by audit_list and audit_count.
std::string audit_where(const AuditQuery& q) {
  std::string w = " WHERE 1=1";
  if (!q.actor.empty()) w += " AND actor = :actor";
  if (!q.action.empty()) w += " AND action = :action";
  if (q.since) w += " AND at >= :since";
  return w;
}
void audit_bind(SQLite::Statement& s, const AuditQuery& q) {
  if (!q.actor.empty()) s.bind(":actor", q.actor);
  if (!q.action.empty()) s.bind(":action", q.action);
  if (q.since) s.bind(":since", static_cast<int64_t>(*q.since));
}

class SqliteTx final : public Writer {
 public:
  explicit SqliteTx(SQLite::Database& db) : db_(db) {}

  std::optional<UserRecord> user_by_id(int64_t id) override {
    SQLite::Statement s(db_, std::string("SELECT ") + kUserCols + " FROM users WHERE id = ?");
    s.bind(1, static_cast<int64_t>(id));
    if (!s.executeStep()) return std::nullopt;
    return read_user(s);
  }
  std::optional<UserRecord> user_by_directory_id(const std::string& id) override {
    SQLite::Statement s(db_,
                        std::string("SELECT ") + kUserCols + " FROM users WHERE directory_id = ? "
                        "AND directory_id != ''");
    s.bind(1, id);
    if (!s.executeStep()) return std::nullopt;
    return read_user(s);
  }
  std::vector<UserRecord> directory_users() override {
    SQLite::Statement s(db_, std::string("SELECT ") + kUserCols +
                                 " FROM users WHERE directory_id != ''");
    std::vector<UserRecord> out;
    while (s.executeStep()) out.push_back(read_user(s));
    return out;
  }
  std::vector<DirectoryIntentRecord> intents(const std::string& state, int64_t limit) override {
    SQLite::Statement s(db_,
                        "SELECT id, user_id, username, directory_dn, action, actor, client, "
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
    SQLite::Statement s(db_,
                        std::string("SELECT ") + kUserCols + " FROM users WHERE username = ?");
    s.bind(1, username);
    if (!s.executeStep()) return std::nullopt;
    return read_user(s);
  }
  UserPage list_users(const UserQuery& q) override {
    std::string where = " WHERE 1=1";
    if (!q.q_folded.empty()) where += " AND instr(search_text, :q) > 0";
    if (q.disabled) where += " AND disabled = :disabled";
    if (q.directory) where += *q.directory ? " AND directory_id != ''" : " AND directory_id = ''";
    static const char* kSorts[] = {"username", "display_name", "created_at"};
    std::string sort = "username";
    for (const char* k : kSorts)
      if (q.sort == k) sort = k;
    const char* dir = q.descending ? " DESC" : " ASC";
    auto bind = [&](SQLite::Statement& s) {
      if (!q.q_folded.empty()) s.bind(":q", q.q_folded);
      if (q.disabled) s.bind(":disabled", *q.disabled ? 1 : 0);
    };
    UserPage page;
    SQLite::Statement c(db_, "SELECT count(*) FROM users" + where);
    bind(c);
    c.executeStep();
    page.total = c.getColumn(0).getInt64();
    SQLite::Statement s(db_, std::string("SELECT ") + kUserCols + " FROM users" + where +
                                 " ORDER BY " + sort + dir + ", id" + dir +
                                 " LIMIT :limit OFFSET :offset");
    bind(s);
    s.bind(":limit", static_cast<int64_t>(q.limit));
    s.bind(":offset", static_cast<int64_t>(q.offset));
    while (s.executeStep()) page.users.push_back(read_user(s));
    return page;
  }
  int64_t count_users() override { return scalar("SELECT count(*) FROM users"); }
  int64_t count_enabled_global_admins() override {
    return scalar("SELECT count(*) FROM users WHERE role = 'global_admin' AND disabled = 0");
  }

  std::optional<SessionRecord> session_by_token_hash(const std::string& h) override {
    SQLite::Statement s(db_, std::string("SELECT ") + kSessionCols +
                                 " FROM sessions WHERE token_hash = ?");
    s.bind(1, h);
    if (!s.executeStep()) return std::nullopt;
    return read_session(s);
  }
  std::optional<SessionRecord> session_by_id(int64_t id) override {
    SQLite::Statement s(db_, std::string("SELECT ") + kSessionCols + " FROM sessions WHERE id = ?");
    s.bind(1, static_cast<int64_t>(id));
    if (!s.executeStep()) return std::nullopt;
    return read_session(s);
  }
  std::vector<SessionRecord> sessions_for_user(int64_t user_id) override {
    SQLite::Statement s(db_, std::string("SELECT ") + kSessionCols +
                                 " FROM sessions WHERE user_id = ? ORDER BY id");
    s.bind(1, static_cast<int64_t>(user_id));
    std::vector<SessionRecord> out;
    while (s.executeStep()) out.push_back(read_session(s));
    return out;
  }

  std::optional<OutboxRecord> outbox_by_id(int64_t id) override {
    SQLite::Statement s(db_, std::string("SELECT ") + kOutboxCols + " FROM outbox WHERE id = ?");
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
    SQLite::Statement s(db_, "SELECT count(*) FROM outbox" + outbox_where(q));
    outbox_bind(s, q);
    s.executeStep();
    return s.getColumn(0).getInt64();
  }
  std::vector<OutboxRecord> outbox_list(const OutboxQuery& q) override {
    SQLite::Statement s(db_, std::string("SELECT ") + kOutboxCols + " FROM outbox" + outbox_where(q) +
                                 " ORDER BY id DESC LIMIT :limit OFFSET :offset");
    outbox_bind(s, q);
    s.bind(":limit", static_cast<int64_t>(q.limit));
    s.bind(":offset", static_cast<int64_t>(q.offset));
    std::vector<OutboxRecord> out;
    while (s.executeStep()) out.push_back(read_outbox(s));
    return out;
  }
  std::vector<OutboxRecord> outbox_due(int64_t now, int limit) override {
    SQLite::Statement s(db_, std::string("SELECT ") + kOutboxCols +
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
    SQLite::Statement s(db_, "SELECT min(next_attempt_at) FROM outbox WHERE state = 'queued'");
    s.executeStep();
    return opt_i64(s.getColumn(0));
  }

  std::optional<LinkTokenRecord> link_token_by_hash(const std::string& h) override {
    SQLite::Statement s(db_,
                        "SELECT id, user_id, token_hash, expires_at, used_at, created_at "
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
    SQLite::Statement s(db_,
                        "SELECT id, user_id, code_mac, expires_at, tries, used_at, created_at "
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
    SQLite::Statement s(db_,
                        "SELECT count(*) FROM self_service_codes WHERE user_id = ? AND created_at >= ?");
    s.bind(1, static_cast<int64_t>(user_id));
    s.bind(2, static_cast<int64_t>(since));
    s.executeStep();
    return s.getColumn(0).getInt64();
  }
  std::vector<UserRecord> users_due_reminder(int64_t cutoff) override {
    SQLite::Statement s(db_, std::string("SELECT ") + kUserCols +
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
    SQLite::Statement s(db_,
                        "SELECT id, at, actor, client, action, target, outcome, detail FROM audit" +
                            audit_where(q) + " ORDER BY id DESC LIMIT :limit OFFSET :offset");
    audit_bind(s, q);
    s.bind(":limit", static_cast<int64_t>(q.limit));
    s.bind(":offset", static_cast<int64_t>(q.offset));
    std::vector<AuditRecord> out;
    while (s.executeStep()) out.push_back(read_audit(s));
    return out;
  }
  int64_t audit_count(const AuditQuery& q) override {
    SQLite::Statement s(db_, "SELECT count(*) FROM audit" + audit_where(q));
    audit_bind(s, q);
    s.executeStep();
    return s.getColumn(0).getInt64();
  }

  std::optional<std::string> setting(const std::string& key) override {
    SQLite::Statement s(db_, "SELECT value FROM settings WHERE key = ?");
    s.bind(1, key);
    if (!s.executeStep()) return std::nullopt;
    return s.getColumn(0).getString();
  }

  // ---- Writer ----
  int64_t insert_user(const UserRecord& u) override {
    SQLite::Statement s(db_,
                        "INSERT INTO users (username, display_name, email, alternate_email, role, "
                        "locale, search_text, password_hash, must_change, temp_expires_at, "
                        "password_changed_at, disabled, failed_logins, last_failed_at, "
                        "locked_until, reminder_sent_for, created_at, updated_at, directory_id, "
                        "directory_dn) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    bind_user(s, u);
    s.exec();
    return db_.getLastInsertRowid();
  }
  void update_user(const UserRecord& u) override {
    SQLite::Statement s(db_,
                        "UPDATE users SET username=?, display_name=?, email=?, alternate_email=?, "
                        "role=?, locale=?, search_text=?, password_hash=?, must_change=?, "
                        "temp_expires_at=?, password_changed_at=?, disabled=?, failed_logins=?, "
                        "last_failed_at=?, locked_until=?, reminder_sent_for=?, created_at=?, "
                        "updated_at=?, directory_id=?, directory_dn=? WHERE id=?");
    bind_user(s, u);
    s.bind(21, static_cast<int64_t>(u.id));
    s.exec();
  }
  void delete_user(int64_t id) override { exec_id("DELETE FROM users WHERE id = ?", id); }

  int64_t insert_session(const SessionRecord& r) override {
    SQLite::Statement s(db_,
                        "INSERT INTO sessions (user_id, token_hash, must_change, created_at, "
                        "expires_at, client_addr, user_agent) VALUES (?,?,?,?,?,?,?)");
    s.bind(1, static_cast<int64_t>(r.user_id));
    s.bind(2, r.token_hash);
    s.bind(3, r.must_change ? 1 : 0);
    s.bind(4, static_cast<int64_t>(r.created_at));
    s.bind(5, static_cast<int64_t>(r.expires_at));
    s.bind(6, r.client_addr);
    s.bind(7, r.user_agent);
    s.exec();
    return db_.getLastInsertRowid();
  }
  void delete_session(int64_t id) override { exec_id("DELETE FROM sessions WHERE id = ?", id); }
  int64_t delete_sessions_for_user(int64_t user_id, int64_t keep_id) override {
    SQLite::Statement s(db_, "DELETE FROM sessions WHERE user_id = ? AND id != ?");
    s.bind(1, static_cast<int64_t>(user_id));
    s.bind(2, static_cast<int64_t>(keep_id));
    return s.exec();
  }
  int64_t purge_expired_sessions(int64_t now) override {
    return exec_id("DELETE FROM sessions WHERE expires_at <= ?", now);
  }

  int64_t insert_outbox(const OutboxRecord& m) override {
    SQLite::Statement s(db_,
                        "INSERT INTO outbox (user_id, kind, recipient, locale, subject, body, "
                        "carries_secret, secret_expires_at, state, attempts, next_attempt_at, "
                        "last_answer, message_id, created_at, sent_at) VALUES "
                        "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    bind_outbox(s, m);
    s.exec();
    return db_.getLastInsertRowid();
  }
  void update_outbox(const OutboxRecord& m) override {
    SQLite::Statement s(db_,
                        "UPDATE outbox SET user_id=?, kind=?, recipient=?, locale=?, subject=?, "
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
    SQLite::Statement s(db_,
                        "INSERT INTO link_tokens (user_id, token_hash, expires_at, used_at, "
                        "created_at) VALUES (?,?,?,?,?)");
    s.bind(1, static_cast<int64_t>(t.user_id));
    s.bind(2, t.token_hash);
    s.bind(3, static_cast<int64_t>(t.expires_at));
    bind_opt(s, 4, t.used_at);
    s.bind(5, static_cast<int64_t>(t.created_at));
    s.exec();
    return db_.getLastInsertRowid();
  }
  void mark_link_token_used(int64_t id, int64_t now) override {
    SQLite::Statement s(db_, "UPDATE link_tokens SET used_at = ? WHERE id = ?");
    s.bind(1, static_cast<int64_t>(now));
    s.bind(2, static_cast<int64_t>(id));
    s.exec();
  }
  int64_t invalidate_link_tokens(int64_t user_id, int64_t now) override {
    SQLite::Statement s(db_,
                        "UPDATE link_tokens SET used_at = ? WHERE user_id = ? AND used_at IS NULL");
    s.bind(1, static_cast<int64_t>(now));
    s.bind(2, static_cast<int64_t>(user_id));
    return s.exec();
  }

  int64_t insert_code(const CodeRecord& c) override {
    SQLite::Statement s(db_,
                        "INSERT INTO self_service_codes (user_id, code_mac, expires_at, tries, "
                        "used_at, created_at) VALUES (?,?,?,?,?,?)");
    s.bind(1, static_cast<int64_t>(c.user_id));
    s.bind(2, c.code_mac);
    s.bind(3, static_cast<int64_t>(c.expires_at));
    s.bind(4, c.tries);
    bind_opt(s, 5, c.used_at);
    s.bind(6, static_cast<int64_t>(c.created_at));
    s.exec();
    return db_.getLastInsertRowid();
  }
  void update_code(const CodeRecord& c) override {
    SQLite::Statement s(db_, "UPDATE self_service_codes SET tries = ?, used_at = ? WHERE id = ?");
    s.bind(1, c.tries);
    bind_opt(s, 2, c.used_at);
    s.bind(3, static_cast<int64_t>(c.id));
    s.exec();
  }
  int64_t invalidate_codes(int64_t user_id, int64_t now) override {
    SQLite::Statement s(db_,
                        "UPDATE self_service_codes SET used_at = ? WHERE user_id = ? AND used_at IS NULL");
    s.bind(1, static_cast<int64_t>(now));
    s.bind(2, static_cast<int64_t>(user_id));
    return s.exec();
  }
  int64_t purge_codes(int64_t before) override {
    return exec_id("DELETE FROM self_service_codes WHERE created_at < ?", before);
  }

  void append_audit(const AuditRecord& a) override {
    SQLite::Statement s(db_,
                        "INSERT INTO audit (at, actor, client, action, target, outcome, detail) "
                        "VALUES (?,?,?,?,?,?,?)");
    s.bind(1, static_cast<int64_t>(a.at));
    s.bind(2, a.actor);
    s.bind(3, a.client);
    s.bind(4, a.action);
    s.bind(5, a.target);
    s.bind(6, a.outcome);
    s.bind(7, a.detail);
    s.exec();
  }
  int64_t purge_audit(int64_t before) override {
    return exec_id("DELETE FROM audit WHERE at < ?", before);
  }

  void put_setting(const std::string& key, const std::string& value) override {
    SQLite::Statement s(db_,
                        "INSERT INTO settings (key, value) VALUES (?, ?) "
                        "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
    s.bind(1, key);
    s.bind(2, value);
    s.exec();
  }

  int64_t insert_intent(const DirectoryIntentRecord& i) override {
    SQLite::Statement s(db_,
                        "INSERT INTO directory_intents (user_id, username, directory_dn, action, "
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
    return db_.getLastInsertRowid();
  }
  void close_intent(int64_t id, const std::string& state, const std::string& detail,
                    int64_t now) override {
    SQLite::Statement s(db_,
                        "UPDATE directory_intents SET state = ?, detail = ?, resolved_at = ?, "
                        "sealed = x'' WHERE id = ?");
    s.bind(1, state);
    s.bind(2, detail);
    s.bind(3, static_cast<int64_t>(now));
    s.bind(4, static_cast<int64_t>(id));
    s.exec();
  }

 private:
  int64_t scalar(const char* sql) {
    SQLite::Statement s(db_, sql);
    s.executeStep();
    return s.getColumn(0).getInt64();
  }
  int64_t exec_id(const char* sql, int64_t v) {
    SQLite::Statement s(db_, sql);
    s.bind(1, static_cast<int64_t>(v));
    return s.exec();
  }
  SQLite::Database& db_;
};

class SqliteStore final : public Store {
 public:
  SqliteStore(const std::string& data_dir, const OpenOptions& o) : data_dir_(data_dir) {
    const std::string path = (fs::path(data_dir) / "resetd.db").string();
    const bool existed = fs::exists(path);
    if (!existed && !o.create)
      throw StorageError(StorageError::Kind::Other, "no database at " + path);
    try {
      int flags = SQLite::OPEN_READWRITE | (o.create ? SQLite::OPEN_CREATE : 0);
      db_ = std::make_unique<SQLite::Database>(path, flags, o.busy_timeout_ms);
      if (existed && o.quick_check) {
        // Before anything that could write: a damaged file is never touched.
        std::string r = db_->execAndGet("PRAGMA quick_check").getString();
        if (r != "ok")
          throw StorageError(StorageError::Kind::Corrupt,
                             "database " + path + " is damaged (quick_check: " + r +
                                 "); restore a backup with 'resetd restore'");
      }
      const int have = db_->execAndGet("PRAGMA user_version").getInt();
      const int known = binary_schema_version();
      if (have > known)
        throw StorageError(StorageError::Kind::TooNew,
                           "database " + path + " has schema version " + std::to_string(have) +
                               ", newer than this binary's " + std::to_string(known) +
                               "; run a newer resetd or restore a backup");
      db_->exec("PRAGMA journal_mode=WAL");
      db_->exec("PRAGMA synchronous=FULL");
      db_->exec("PRAGMA foreign_keys=ON");
      db_->exec("PRAGMA secure_delete=ON");  // erased bodies leave no plaintext behind
      db_->exec("PRAGMA temp_store=MEMORY");  // no temp files: the data dir is all we write
      if (existed) ::chmod(path.c_str(), 0600);
      else ::chmod(path.c_str(), 0600);
      if (o.migrate && have < known) migrate(have, known);
    } catch (const SQLite::Exception& e) {
      StorageError t = translate(e);
      if (t.kind() == StorageError::Kind::Corrupt)
        throw StorageError(StorageError::Kind::Corrupt,
                           "database " + path + " is damaged (" + e.what() +
                               "); restore a backup with 'resetd restore'");
      throw t;
    }
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

  void read(const std::function<void(Reader&)>& fn) override {
    ReentryGuard guard;
    std::lock_guard<std::mutex> lock(mu_);
    try {
      SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::DEFERRED);
      SqliteTx r(*db_);
      fn(r);
      tx.commit();
    } catch (const SQLite::Exception& e) {
      throw translate(e);
    }
  }

  void write(const std::function<void(Writer&)>& fn) override {
    ReentryGuard guard;
    std::lock_guard<std::mutex> lock(mu_);
    try {
      SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
      SqliteTx w(*db_);
      fn(w);
      tx.commit();
    } catch (const SQLite::Exception& e) {
      throw translate(e);
    }
  }

  void backup_to(const std::string& path) override {
    std::lock_guard<std::mutex> lock(mu_);
    try {
      SQLite::Statement s(*db_, "VACUUM INTO ?");
      s.bind(1, path);
      s.exec();
      ::chmod(path.c_str(), 0600);
    } catch (const SQLite::Exception& e) {
      throw translate(e);
    }
  }

  std::string integrity_check() override {
    std::lock_guard<std::mutex> lock(mu_);
    try {
      return db_->execAndGet("PRAGMA integrity_check").getString();
    } catch (const SQLite::Exception& e) {
      return e.what();
    }
  }

  int schema_version() override {
    std::lock_guard<std::mutex> lock(mu_);
    return db_->execAndGet("PRAGMA user_version").getInt();
  }

 private:
  void migrate(int have, int known) {
    if (have > 0) snapshot_before(known);
    const auto& all = migrations();
    for (int v = have; v < known; ++v) {
      SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
      db_->exec(all[static_cast<size_t>(v)].sql);
      db_->exec("PRAGMA user_version = " + std::to_string(v + 1));
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
    SQLite::Statement s(*db_, "VACUUM INTO ?");
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
  std::mutex mu_;
  std::unique_ptr<SQLite::Database> db_;
};

thread_local bool SqliteStore::ReentryGuard::inside_ = false;

}  // namespace

std::unique_ptr<Store> Store::open(const std::string& data_dir, const OpenOptions& o) {
  return std::make_unique<SqliteStore>(data_dir, o);
}

}  // namespace resetd::storage
