// See outbox_queries.h.
#include "outbox_queries.h"

#include <string>

#include "records_sql.h"

namespace resetd::storage::outbox_queries {
namespace {

// WHERE clause and binder shared by list and count.
std::string outbox_where(const OutboxQuery& q) {
  std::string w = " WHERE 1=1";
  if (!q.state.empty()) w += " AND state = :state";
  if (q.user_id) w += " AND user_id = :uid";
  return w;
}

void outbox_bind(SQLite::Statement& s, const OutboxQuery& q) {
  if (!q.state.empty()) s.bind(":state", q.state);
  if (q.user_id) s.bind(":uid", static_cast<int64_t>(*q.user_id));
}

int64_t exec_id(Conn& c, const char* sql, int64_t v) {
  SQLite::Statement& s = c.stmt(sql);
  s.bind(1, static_cast<int64_t>(v));
  return s.exec();
}

}  // namespace

std::optional<OutboxRecord> by_id(Conn& c, int64_t id) {
  SQLite::Statement& s = c.stmt(std::string("SELECT ") + kOutboxCols + " FROM outbox WHERE id = ?");
  s.bind(1, static_cast<int64_t>(id));
  if (!s.executeStep()) return std::nullopt;
  return read_outbox(s);
}

int64_t count(Conn& c, const OutboxQuery& q) {
  SQLite::Statement& s = c.stmt("SELECT count(*) FROM outbox" + outbox_where(q));
  outbox_bind(s, q);
  s.executeStep();
  return s.getColumn(0).getInt64();
}

std::vector<OutboxRecord> list(Conn& c, const OutboxQuery& q) {
  SQLite::Statement& s = c.stmt(std::string("SELECT ") + kOutboxCols + " FROM outbox" + outbox_where(q) +
                                " ORDER BY id DESC LIMIT :limit OFFSET :offset");
  outbox_bind(s, q);
  s.bind(":limit", static_cast<int64_t>(q.limit));
  s.bind(":offset", static_cast<int64_t>(q.offset));
  std::vector<OutboxRecord> out;
  while (s.executeStep()) out.push_back(read_outbox(s));
  return out;
}

std::vector<OutboxRecord> due(Conn& c, int64_t now, int limit) {
  SQLite::Statement& s = c.stmt(std::string("SELECT ") + kOutboxCols +
                                " FROM outbox WHERE state = 'queued' AND next_attempt_at <= ?"
                                " ORDER BY next_attempt_at, id LIMIT ?");
  s.bind(1, static_cast<int64_t>(now));
  s.bind(2, limit);
  std::vector<OutboxRecord> out;
  while (s.executeStep()) out.push_back(read_outbox(s));
  return out;
}

int64_t pending_count(Conn& c) {
  SQLite::Statement& s = c.stmt("SELECT count(*) FROM outbox WHERE state IN ('queued','sending')");
  s.executeStep();
  return s.getColumn(0).getInt64();
}

std::optional<int64_t> next_due(Conn& c) {
  SQLite::Statement& s = c.stmt("SELECT min(next_attempt_at) FROM outbox WHERE state = 'queued'");
  s.executeStep();
  return opt_i64(s.getColumn(0));
}

int64_t insert(Conn& c, const OutboxRecord& m) {
  SQLite::Statement& s = c.stmt("INSERT INTO outbox (user_id, kind, recipient, locale, subject, body, "
                                "carries_secret, secret_expires_at, state, attempts, next_attempt_at, "
                                "last_answer, message_id, created_at, sent_at) VALUES "
                                "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  bind_outbox(s, m);
  s.exec();
  return c.db->getLastInsertRowid();
}

void update(Conn& c, const OutboxRecord& m) {
  SQLite::Statement& s = c.stmt("UPDATE outbox SET user_id=?, kind=?, recipient=?, locale=?, subject=?, "
                                "body=?, carries_secret=?, secret_expires_at=?, state=?, attempts=?, "
                                "next_attempt_at=?, last_answer=?, message_id=?, created_at=?, sent_at=? "
                                "WHERE id=?");
  bind_outbox(s, m);
  s.bind(16, static_cast<int64_t>(m.id));
  s.exec();
}

int64_t supersede_secret(Conn& c, int64_t user_id) {
  return exec_id(c,
                 "UPDATE outbox SET state='superseded', body=x'' WHERE user_id = ? AND carries_secret = 1 "
                 "AND state IN ('queued','sending','failed')",
                 user_id);
}

int64_t requeue_sending(Conn& c, int64_t now) {
  return exec_id(c, "UPDATE outbox SET state='queued', next_attempt_at=?1 WHERE state='sending'", now);
}

int64_t expire_secret(Conn& c, int64_t now) {
  return exec_id(c,
                 "UPDATE outbox SET state='expired', body=x'', last_answer=CASE WHEN last_answer='' THEN "
                 "'secret expired before delivery' ELSE last_answer END WHERE carries_secret = 1 AND "
                 "state IN ('queued','sending','failed') AND secret_expires_at IS NOT NULL AND "
                 "secret_expires_at <= ?",
                 now);
}

int64_t purge(Conn& c, int64_t before) {
  return exec_id(c,
                 "DELETE FROM outbox WHERE state IN ('sent','failed','superseded','expired') AND "
                 "created_at < ?",
                 before);
}

}  // namespace resetd::storage::outbox_queries
