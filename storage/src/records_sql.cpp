#include "records_sql.h"

namespace resetd::storage {

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

const char* const kUserCols =
    "id, username, display_name, email, alternate_email, role, locale, search_text, "
    "password_hash, must_change, temp_expires_at, password_changed_at, disabled, "
    "failed_logins, last_failed_at, locked_until, reminder_sent_for, created_at, updated_at, "
    "directory_id, directory_dn, directory_locked";

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
  u.directory_locked = s.getColumn(21).getInt() != 0;
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
  s.bind(21, u.directory_locked ? 1 : 0);
}

const char* const kSessionCols =
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

const char* const kOutboxCols =
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
  // lower() folds ASCII only: usernames and addresses are ASCII-lowercase
  // already; a display name in a detail is not searched here.
  if (!q.actor.empty()) w += q.partial ? " AND instr(lower(actor), lower(:actor)) > 0" : " AND actor = :actor";
  if (!q.target.empty()) w += q.partial ? " AND instr(lower(target), lower(:target)) > 0" : " AND target = :target";
  if (!q.action.empty()) w += " AND action = :action";
  if (!q.outcome.empty()) w += " AND outcome = :outcome";
  if (q.since) w += " AND at >= :since";
  if (!q.recipient.empty())
    w += " AND (instr(lower(target), lower(:recipient)) > 0 OR instr(lower(detail), lower(:recipient)) > 0)";
  return w;
}
void audit_bind(SQLite::Statement& s, const AuditQuery& q) {
  if (!q.actor.empty()) s.bind(":actor", q.actor);
  if (!q.target.empty()) s.bind(":target", q.target);
  if (!q.action.empty()) s.bind(":action", q.action);
  if (!q.outcome.empty()) s.bind(":outcome", q.outcome);
  if (q.since) s.bind(":since", static_cast<int64_t>(*q.since));
  if (!q.recipient.empty()) s.bind(":recipient", q.recipient);
}

}  // namespace resetd::storage
