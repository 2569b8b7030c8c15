#include "user_filters.h"

#include <string>

namespace resetd::storage::user_filters {

namespace {
struct Filter {
  const char* name;
  const char* indexed;  // the partial index's WHERE, word for word
  const char* live;     // what the clock decides on top, or ""
  const char* index;    // that partial index (migration 0007)
};
constexpr Filter kFilters[] = {
    {"must_change", "must_change = 1", "", "users_f_must_change"},
    {"locked", "(locked_until IS NOT NULL OR directory_locked = 1)", "(locked_until > :now OR directory_locked = 1)", "users_f_locked"},
    {"admins", "role <> 'user'", "", "users_f_admins"},
    {"temp_expiring", "temp_expires_at IS NOT NULL", "temp_expires_at > :now AND temp_expires_at <= :until", "users_f_temp"},
};

const Filter* find(const std::string& name) {
  for (const auto& f : kFilters)
    if (name == f.name) return &f;
  return nullptr;
}

// walk: the partial index's WHERE under a unary +, so that SQLite cannot
// serve it from that index and walks the sort's index instead.
std::string where_of(const Filter& f, const UserQuery& q, bool walk) {
  std::string where = walk ? std::string(" WHERE +(") + f.indexed + ")" : std::string(" WHERE ") + f.indexed;
  if (*f.live) where += std::string(" AND ") + f.live;
  if (q.disabled) where += " AND disabled = :disabled";
  if (!q.q_folded.empty()) where += " AND instr(search_text, :q) > 0";
  return where;
}

void bind(SQLite::Statement& s, const Filter& f, const UserQuery& q) {
  if (*f.live) s.bind(":now", static_cast<int64_t>(q.now));
  if (std::string(f.live).find(":until") != std::string::npos) s.bind(":until", static_cast<int64_t>(q.expiring_before));
  if (q.disabled) s.bind(":disabled", *q.disabled ? 1 : 0);
  if (!q.q_folded.empty()) s.bind(":q", q.q_folded);
}
}  // namespace

bool known(const std::string& filter) { return find(filter) != nullptr; }

const char* stable_where(const std::string& filter) {
  const Filter* f = find(filter);
  return f && !*f->live ? f->indexed : nullptr;
}

int64_t count(Conn& c, const UserQuery& q, bool walk) {
  const Filter* f = find(q.filter);
  if (!f) return 0;
  SQLite::Statement& n = c.stmt("SELECT count(*) FROM users" + where_of(*f, q, walk));
  bind(n, *f, q);
  n.executeStep();
  return n.getColumn(0).getInt64();
}

std::vector<int64_t> ids(Conn& c, const UserQuery& q, const std::string& order, int64_t offset, int64_t limit,
                         bool walk) {
  std::vector<int64_t> out;
  const Filter* f = find(q.filter);
  if (!f || limit <= 0) return out;
  // Few matches: their partial index, then sorted (SQLite would rather walk
  // the sort's index, through every row when the filter matches a handful).
  const std::string from = walk ? " FROM users" : std::string(" FROM users INDEXED BY ") + f->index;
  SQLite::Statement& s = c.stmt("SELECT id" + from + where_of(*f, q, walk) + order + " LIMIT :limit OFFSET :offset");
  bind(s, *f, q);
  s.bind(":limit", static_cast<int64_t>(limit));
  s.bind(":offset", static_cast<int64_t>(offset));
  while (s.executeStep()) out.push_back(s.getColumn(0).getInt64());
  return out;
}

std::vector<int64_t> ids_among_matches(Conn& c, const UserQuery& q, const std::string& match, const std::string& order,
                                       int64_t offset, int64_t limit) {
  std::vector<int64_t> out;
  const Filter* f = find(q.filter);
  if (!f || limit <= 0) return out;
  // The unary + keeps SQLite off the filter's partial index and the disabled
  // indexes: the matching ids are the only rows read.
  std::string where = std::string(" WHERE id IN (SELECT rowid FROM users_fts WHERE users_fts MATCH :m) AND +(") +
                      f->indexed + ")";
  if (*f->live) where += std::string(" AND ") + f->live;
  if (q.disabled) where += " AND +disabled = :disabled";
  where += " AND instr(search_text, :q) > 0";
  SQLite::Statement& s = c.stmt("SELECT id FROM users" + where + order + " LIMIT :limit OFFSET :offset");
  s.bind(":m", match);
  bind(s, *f, q);
  s.bind(":limit", static_cast<int64_t>(limit));
  s.bind(":offset", static_cast<int64_t>(offset));
  while (s.executeStep()) out.push_back(s.getColumn(0).getInt64());
  return out;
}

bool holds(Conn& c, const UserQuery& q, int64_t id) {
  const Filter* f = find(q.filter);
  if (!f) return false;
  std::string sql = std::string("SELECT 1 FROM users WHERE id = :id AND +(") + f->indexed + ")";
  if (*f->live) sql += std::string(" AND ") + f->live;
  if (q.disabled) sql += " AND disabled = :disabled";
  SQLite::Statement& s = c.stmt(sql);
  s.bind(":id", static_cast<int64_t>(id));
  if (q.disabled) s.bind(":disabled", *q.disabled ? 1 : 0);
  if (*f->live) s.bind(":now", static_cast<int64_t>(q.now));
  if (std::string(f->live).find(":until") != std::string::npos) s.bind(":until", static_cast<int64_t>(q.expiring_before));
  return s.executeStep();
}

}  // namespace resetd::storage::user_filters
