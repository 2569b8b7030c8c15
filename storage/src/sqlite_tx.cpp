// SqliteTx's queries: users, sessions, link tokens, codes, audit, settings and
// directory intents here; the outbox and second factors in their own files.
#include "sqlite_tx.h"

#include "intent_queries.h"
#include "outbox_queries.h"
#include "records_sql.h"
#include "second_factor_queries.h"
#include "user_list.h"

namespace resetd::storage {

std::optional<UserRecord> SqliteTx::user_by_id(int64_t id) {
  SQLite::Statement& s = stmt(std::string("SELECT ") + kUserCols + " FROM users WHERE id = ?");
  s.bind(1, static_cast<int64_t>(id));
  if (!s.executeStep()) return std::nullopt;
  return read_user(s);
}

std::optional<UserRecord> SqliteTx::user_by_directory_id(const std::string& id) {
  SQLite::Statement& s = stmt(std::string("SELECT ") + kUserCols + " FROM users WHERE directory_id = ? "
                      "AND directory_id != ''");
  s.bind(1, id);
  if (!s.executeStep()) return std::nullopt;
  return read_user(s);
}

std::vector<UserRecord> SqliteTx::directory_users() {
  SQLite::Statement& s = stmt(std::string("SELECT ") + kUserCols +
                               " FROM users WHERE directory_id != ''");
  std::vector<UserRecord> out;
  while (s.executeStep()) out.push_back(read_user(s));
  return out;
}

std::vector<DirectoryIntentRecord> SqliteTx::intents(const std::string& state, int64_t limit) {
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

std::optional<UserRecord> SqliteTx::user_by_username(const std::string& username) {
  SQLite::Statement& s = stmt(std::string("SELECT ") + kUserCols + " FROM users WHERE username = ?");
  s.bind(1, username);
  if (!s.executeStep()) return std::nullopt;
  return read_user(s);
}

UserPage SqliteTx::list_users(const UserQuery& q) { return user_list::page(conn_, q, count_memo); }

int64_t SqliteTx::count_users() { return scalar("SELECT coalesce(sum(n), 0) FROM user_counts"); }

int64_t SqliteTx::count_enabled_global_admins() {
  return scalar("SELECT count(*) FROM users WHERE role = 'global_admin' AND disabled = 0");
}

std::optional<SessionRecord> SqliteTx::session_by_token_hash(const std::string& h) {
  SQLite::Statement& s = stmt(std::string("SELECT ") + kSessionCols +
                               " FROM sessions WHERE token_hash = ?");
  s.bind(1, h);
  if (!s.executeStep()) return std::nullopt;
  return read_session(s);
}

std::optional<SessionRecord> SqliteTx::session_by_id(int64_t id) {
  SQLite::Statement& s = stmt(std::string("SELECT ") + kSessionCols + " FROM sessions WHERE id = ?");
  s.bind(1, static_cast<int64_t>(id));
  if (!s.executeStep()) return std::nullopt;
  return read_session(s);
}

std::vector<SessionRecord> SqliteTx::sessions_for_user(int64_t user_id) {
  SQLite::Statement& s = stmt(std::string("SELECT ") + kSessionCols +
                               " FROM sessions WHERE user_id = ? ORDER BY id");
  s.bind(1, static_cast<int64_t>(user_id));
  std::vector<SessionRecord> out;
  while (s.executeStep()) out.push_back(read_session(s));
  return out;
}

std::optional<OutboxRecord> SqliteTx::outbox_by_id(int64_t id) { return outbox_queries::by_id(conn_, id); }

int64_t SqliteTx::outbox_count(const OutboxQuery& q) { return outbox_queries::count(conn_, q); }

std::vector<OutboxRecord> SqliteTx::outbox_list(const OutboxQuery& q) {
  return outbox_queries::list(conn_, q);
}

std::vector<OutboxRecord> SqliteTx::outbox_due(int64_t now, int limit) {
  return outbox_queries::due(conn_, now, limit);
}

int64_t SqliteTx::outbox_pending_count() { return outbox_queries::pending_count(conn_); }

std::optional<int64_t> SqliteTx::outbox_next_due() { return outbox_queries::next_due(conn_); }

std::optional<LinkTokenRecord> SqliteTx::link_token_by_hash(const std::string& h) {
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

std::optional<CodeRecord> SqliteTx::latest_code(int64_t user_id) {
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

int64_t SqliteTx::count_codes_since(int64_t user_id, int64_t since) {
  SQLite::Statement& s = stmt("SELECT count(*) FROM self_service_codes WHERE user_id = ? AND created_at >= ?");
  s.bind(1, static_cast<int64_t>(user_id));
  s.bind(2, static_cast<int64_t>(since));
  s.executeStep();
  return s.getColumn(0).getInt64();
}

std::vector<UserRecord> SqliteTx::users_due_reminder(int64_t cutoff) {
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

std::vector<AuditRecord> SqliteTx::audit_list(const AuditQuery& q) {
  SQLite::Statement& s = stmt("SELECT id, at, actor, client, action, target, outcome, detail FROM audit" +
                          audit_where(q) + " ORDER BY id DESC LIMIT :limit OFFSET :offset");
  audit_bind(s, q);
  s.bind(":limit", static_cast<int64_t>(q.limit));
  s.bind(":offset", static_cast<int64_t>(q.offset));
  std::vector<AuditRecord> out;
  while (s.executeStep()) out.push_back(read_audit(s));
  return out;
}

int64_t SqliteTx::audit_count(const AuditQuery& q) {
  SQLite::Statement& s = stmt("SELECT count(*) FROM audit" + audit_where(q));
  audit_bind(s, q);
  s.executeStep();
  return s.getColumn(0).getInt64();
}

std::optional<std::string> SqliteTx::setting(const std::string& key) {
  SQLite::Statement& s = stmt("SELECT value FROM settings WHERE key = ?");
  s.bind(1, key);
  if (!s.executeStep()) return std::nullopt;
  return s.getColumn(0).getString();
}

// ---- Writer ----
int64_t SqliteTx::insert_user(const UserRecord& u) {
  SQLite::Statement& s = stmt("INSERT INTO users (username, display_name, email, alternate_email, role, "
                      "locale, search_text, password_hash, must_change, temp_expires_at, "
                      "password_changed_at, disabled, failed_logins, last_failed_at, "
                      "locked_until, reminder_sent_for, created_at, updated_at, directory_id, "
                      "directory_dn, directory_locked) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  bind_user(s, u);
  s.exec();
  return conn_.db->getLastInsertRowid();
}

void SqliteTx::update_user(const UserRecord& u) {
  SQLite::Statement& s = stmt("UPDATE users SET username=?, display_name=?, email=?, alternate_email=?, "
                      "role=?, locale=?, search_text=?, password_hash=?, must_change=?, "
                      "temp_expires_at=?, password_changed_at=?, disabled=?, failed_logins=?, "
                      "last_failed_at=?, locked_until=?, reminder_sent_for=?, created_at=?, "
                      "updated_at=?, directory_id=?, directory_dn=?, directory_locked=? WHERE id=?");
  bind_user(s, u);
  s.bind(22, static_cast<int64_t>(u.id));
  s.exec();
}

void SqliteTx::delete_user(int64_t id) { exec_id("DELETE FROM users WHERE id = ?", id); }

int64_t SqliteTx::insert_session(const SessionRecord& r) {
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

void SqliteTx::delete_session(int64_t id) { exec_id("DELETE FROM sessions WHERE id = ?", id); }

int64_t SqliteTx::delete_sessions_for_user(int64_t user_id, int64_t keep_id) {
  SQLite::Statement& s = stmt("DELETE FROM sessions WHERE user_id = ? AND id != ?");
  s.bind(1, static_cast<int64_t>(user_id));
  s.bind(2, static_cast<int64_t>(keep_id));
  return s.exec();
}

int64_t SqliteTx::purge_expired_sessions(int64_t now) {
  return exec_id("DELETE FROM sessions WHERE expires_at <= ?", now);
}

int64_t SqliteTx::insert_outbox(const OutboxRecord& m) { return outbox_queries::insert(conn_, m); }

void SqliteTx::update_outbox(const OutboxRecord& m) { outbox_queries::update(conn_, m); }

int64_t SqliteTx::supersede_secret_messages(int64_t user_id) {
  return outbox_queries::supersede_secret(conn_, user_id);
}

int64_t SqliteTx::requeue_sending(int64_t now) { return outbox_queries::requeue_sending(conn_, now); }

int64_t SqliteTx::expire_secret_messages(int64_t now) { return outbox_queries::expire_secret(conn_, now); }

int64_t SqliteTx::purge_outbox(int64_t before) { return outbox_queries::purge(conn_, before); }

int64_t SqliteTx::insert_link_token(const LinkTokenRecord& t) {
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

void SqliteTx::mark_link_token_used(int64_t id, int64_t now) {
  SQLite::Statement& s = stmt("UPDATE link_tokens SET used_at = ? WHERE id = ?");
  s.bind(1, static_cast<int64_t>(now));
  s.bind(2, static_cast<int64_t>(id));
  s.exec();
}

int64_t SqliteTx::invalidate_link_tokens(int64_t user_id, int64_t now) {
  SQLite::Statement& s = stmt("UPDATE link_tokens SET used_at = ? WHERE user_id = ? AND used_at IS NULL");
  s.bind(1, static_cast<int64_t>(now));
  s.bind(2, static_cast<int64_t>(user_id));
  return s.exec();
}

int64_t SqliteTx::insert_code(const CodeRecord& c) {
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

void SqliteTx::update_code(const CodeRecord& c) {
  SQLite::Statement& s = stmt("UPDATE self_service_codes SET tries = ?, used_at = ? WHERE id = ?");
  s.bind(1, c.tries);
  bind_opt(s, 2, c.used_at);
  s.bind(3, static_cast<int64_t>(c.id));
  s.exec();
}

int64_t SqliteTx::invalidate_codes(int64_t user_id, int64_t now) {
  SQLite::Statement& s = stmt("UPDATE self_service_codes SET used_at = ? WHERE user_id = ? AND used_at IS NULL");
  s.bind(1, static_cast<int64_t>(now));
  s.bind(2, static_cast<int64_t>(user_id));
  return s.exec();
}

int64_t SqliteTx::purge_codes(int64_t before) {
  return exec_id("DELETE FROM self_service_codes WHERE created_at < ?", before);
}

void SqliteTx::append_audit(const AuditRecord& a) {
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

int64_t SqliteTx::purge_audit(int64_t before) {
  return exec_id("DELETE FROM audit WHERE at < ?", before);
}

void SqliteTx::put_setting(const std::string& key, const std::string& value) {
  SQLite::Statement& s = stmt("INSERT INTO settings (key, value) VALUES (?, ?) "
                      "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
  s.bind(1, key);
  s.bind(2, value);
  s.exec();
}

int64_t SqliteTx::insert_intent(const DirectoryIntentRecord& i) {
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

bool SqliteTx::intent_completed_after(int64_t user_id, int64_t id) {
  return intent_queries::completed_after(conn_, user_id, id);
}

int64_t SqliteTx::purge_intents(int64_t before) { return intent_queries::purge_closed(conn_, before); }

std::optional<SecondFactorRecord> SqliteTx::second_factor(int64_t user_id) {
  return second_factor_queries::get(conn_, user_id);
}

void SqliteTx::put_second_factor(const SecondFactorRecord& f) { second_factor_queries::put(conn_, f); }

bool SqliteTx::delete_second_factor(int64_t user_id) { return second_factor_queries::remove(conn_, user_id); }

std::vector<SecurityKeyRecord> SqliteTx::security_keys(int64_t user_id) {
  return second_factor_queries::keys(conn_, user_id);
}

int64_t SqliteTx::insert_security_key(const SecurityKeyRecord& k) { return second_factor_queries::insert_key(conn_, k); }

void SqliteTx::touch_security_key(int64_t id, int64_t n, int64_t at) { second_factor_queries::touch_key(conn_, id, n, at); }

int64_t SqliteTx::delete_security_keys(int64_t user_id, int64_t id) {
  return second_factor_queries::remove_keys(conn_, user_id, id);
}

void SqliteTx::close_intent(int64_t id, const std::string& state, const std::string& detail,
                            int64_t now) {
  SQLite::Statement& s = stmt("UPDATE directory_intents SET state = ?, detail = ?, resolved_at = ?, "
                      "sealed = x'' WHERE id = ?");
  s.bind(1, state);
  s.bind(2, detail);
  s.bind(3, static_cast<int64_t>(now));
  s.bind(4, static_cast<int64_t>(id));
  s.exec();
}

int64_t SqliteTx::scalar(const char* sql) {
  SQLite::Statement& s = stmt(sql);
  s.executeStep();
  return s.getColumn(0).getInt64();
}

int64_t SqliteTx::exec_id(const char* sql, int64_t v) {
  SQLite::Statement& s = stmt(sql);
  s.bind(1, static_cast<int64_t>(v));
  return s.exec();
}

SQLite::Statement& SqliteTx::stmt(const std::string& sql) { return conn_.stmt(sql); }

}  // namespace resetd::storage
