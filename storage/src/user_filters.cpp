#include "user_filters.h"

#include <string>

namespace resetd::storage::user_filters {

namespace {
struct Filter {
  const char* name;
  const char* indexed;  // the partial index's WHERE, word for word
  const char* live;     // what the clock decides on top, or ""
};
constexpr Filter kFilters[] = {
    {"must_change", "must_change = 1", ""},
    {"locked", "(locked_until IS NOT NULL OR directory_locked = 1)", "(locked_until > :now OR directory_locked = 1)"},
    {"admins", "role <> 'user'", ""},
    {"temp_expiring", "temp_expires_at IS NOT NULL", "temp_expires_at > :now AND temp_expires_at <= :until"},
};

const Filter* find(const std::string& name) {
  for (const auto& f : kFilters)
    if (name == f.name) return &f;
  return nullptr;
}
}  // namespace

bool known(const std::string& filter) { return find(filter) != nullptr; }

IdPage page(Conn& c, const UserQuery& q) {
  IdPage out;
  const Filter* f = find(q.filter);
  if (!f) return out;
  const bool live = *f->live != '\0';
  std::string where = std::string(" WHERE ") + f->indexed;
  if (live) where += std::string(" AND ") + f->live;
  if (q.disabled) where += " AND disabled = :disabled";
  if (!q.q_folded.empty()) where += " AND instr(search_text, :q) > 0";
  auto bind = [&](SQLite::Statement& s) {
    if (live) s.bind(":now", static_cast<int64_t>(q.now));
    if (live && std::string(f->live).find(":until") != std::string::npos) s.bind(":until", static_cast<int64_t>(q.expiring_before));
    if (q.disabled) s.bind(":disabled", *q.disabled ? 1 : 0);
    if (!q.q_folded.empty()) s.bind(":q", q.q_folded);
  };
  SQLite::Statement& n = c.stmt("SELECT count(*) FROM users" + where);
  bind(n);
  n.executeStep();
  out.total = n.getColumn(0).getInt64();
  if (q.offset >= out.total || q.limit <= 0) return out;
  std::string sort = "username";
  for (const char* k : {"username", "display_name", "created_at"})
    if (q.sort == k) sort = k;
  const char* dir = q.descending ? " DESC" : " ASC";
  SQLite::Statement& s = c.stmt("SELECT id FROM users" + where + " ORDER BY " + sort + dir + ", id" + dir +
                                " LIMIT :limit OFFSET :offset");
  bind(s);
  s.bind(":limit", static_cast<int64_t>(q.limit));
  s.bind(":offset", static_cast<int64_t>(q.offset));
  while (s.executeStep()) out.ids.push_back(s.getColumn(0).getInt64());
  return out;
}

}  // namespace resetd::storage::user_filters
