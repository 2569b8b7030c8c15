#include "user_list.h"

#include <algorithm>

#include "records_sql.h"
#include "user_filters.h"

namespace resetd::storage::user_list {
namespace {

// Valid UTF-8 with at least three code points: what the trigram index serves.
bool trigram_searchable(const std::string& s) {
  size_t cps = 0;
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
    if (c == 0) return false;
    i += n;
    ++cps;
  }
  return cps >= 3;
}

// Up to this many trigram matches are looked up and sorted; more are found
// by walking the sort's index.
static constexpr int64_t kFewMatches = 400;

}  // namespace

// Same answers as a scan with instr(search_text, q) ORDER BY sort, id
// LIMIT/OFFSET, but cheap at 100,000 users:
// - no q: `total` from the kept counts; the page from the sort's index.
// - q of 3+ characters: the trigram index gives the M matching ids (and M),
//   read into memory. Few matches: look those rows up and sort them. Many:
//   walk the sort's index and keep ids found among them (a binary search
//   here, cheaper than SQLite probing an IN list) — 50 hits come after
//   ~50·N/M entries. A `disabled` filter on many matches is counted on the smaller
//   side (kept counts say which) and subtracted from M when needed.
// - shorter q: the scan, as before (the trigram index cannot serve it).
// Only the page's rows are read whole, and a page past the middle is read
// backwards from the end, so the last page costs what the first does.
// (A unary + keeps SQLite from using an index for that term.)
UserPage page(Conn& conn, const UserQuery& q) {
  if (!q.filter.empty()) {
    // A filter's rows: ids from its partial index, then the records.
    const auto ids = user_filters::page(conn, q);
    UserPage page;
    page.total = ids.total;
    SQLite::Statement& one = conn.stmt(std::string("SELECT ") + kUserCols + " FROM users WHERE id = ?");
    for (int64_t id : ids.ids) {
      one.reset();
      one.bind(1, static_cast<int64_t>(id));
      if (one.executeStep()) page.users.push_back(read_user(one));
    }
    return page;
  }
  const bool search = !q.q_folded.empty();
  const bool fts = search && trigram_searchable(q.q_folded);
  std::string match;
  if (fts) {
    match = "\"";
    for (char ch : q.q_folded) match += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    match += "\"";
  }
  const std::string in_matches = "id IN (SELECT rowid FROM users_fts WHERE users_fts MATCH :m)";
  // with_q: the statement has the :m (or :q) parameter
  auto count_of = [&](const std::string& sql, bool with_q, std::optional<bool> disabled) {
    SQLite::Statement& c = conn.stmt(sql);
    if (with_q && fts) c.bind(":m", match);
    else if (with_q) c.bind(":q", q.q_folded);
    if (disabled) c.bind(":disabled", *disabled ? 1 : 0);
    c.executeStep();
    return c.getColumn(0).getInt64();
  };
  auto kept = [&](bool disabled) {
    return count_of("SELECT coalesce(sum(n), 0) FROM user_counts WHERE disabled = :disabled", false,
                    disabled);
  };

  UserPage page;
  bool many = false;  // a trigram search with more than kFewMatches matches
  std::vector<int64_t> hits;  // a trigram search's matching ids, ascending
  std::string where = " WHERE 1";
  if (!search) {
    page.total = q.disabled ? kept(*q.disabled)
                            : count_of("SELECT coalesce(sum(n), 0) FROM user_counts", false, std::nullopt);
    if (q.disabled) where += " AND disabled = :disabled";
  } else if (fts) {
    // The matching ids (rowid order), counted here: many of them are the
    // membership test of the index walk below.
    SQLite::Statement& f = conn.stmt("SELECT rowid FROM users_fts WHERE users_fts MATCH :m");
    f.bind(":m", match);
    while (f.executeStep()) hits.push_back(f.getColumn(0).getInt64());
    if (!std::is_sorted(hits.begin(), hits.end())) std::sort(hits.begin(), hits.end());
    const auto m = static_cast<int64_t>(hits.size());
    const bool few = m <= kFewMatches;
    many = !few;
    if (!q.disabled) {
      page.total = m;
    } else if (few) {
      page.total = count_of("SELECT count(*) FROM users WHERE " + in_matches + " AND +disabled = :disabled",
                            true, q.disabled);
    } else {
      const bool d = *q.disabled;
      const auto scan_count = [&](bool which) {
        SQLite::Statement& c = conn.stmt("SELECT id FROM users WHERE disabled = :disabled");
        c.bind(":disabled", which ? 1 : 0);
        int64_t n = 0;
        while (c.executeStep()) n += std::binary_search(hits.begin(), hits.end(), c.getColumn(0).getInt64());
        return n;
      };
      page.total = kept(d) <= kept(!d) ? scan_count(d) : m - scan_count(!d);
    }
    if (few) where += " AND " + in_matches + (q.disabled ? " AND +disabled = :disabled" : "");
    else where += " AND +" + in_matches + (q.disabled ? " AND disabled = :disabled" : "");
  } else {
    where += " AND instr(search_text, :q) > 0";
    if (q.disabled) where += " AND disabled = :disabled";
    page.total = count_of("SELECT count(*) FROM users" + where, true, q.disabled);
  }
  if (q.offset >= page.total || q.limit <= 0) return page;

  static const char* kSorts[] = {"username", "display_name", "created_at"};
  std::string sort = "username";
  for (const char* k : kSorts)
    if (q.sort == k) sort = k;
  // A page past the middle is the same rows read from the other end.
  bool descending = q.descending;
  int64_t offset = q.offset;
  const int64_t limit = std::min(q.limit, page.total - q.offset);
  const bool backwards = q.offset > page.total / 2;
  if (backwards) {
    descending = !descending;
    offset = page.total - q.offset - limit;
  }
  const char* dir = descending ? " DESC" : " ASC";
  const std::string order = " ORDER BY " + sort + dir + ", id" + dir;
  if (many) {
    // Many matches: the same walk of the sort's index, but the membership
    // test is a binary search in the matching ids here instead of SQLite
    // probing its IN list for every entry (~1 µs each: the 5,500 entries a
    // broad search walked at 100,000 users took 7-25 ms).
    auto matches = [&hits](int64_t id) { return std::binary_search(hits.begin(), hits.end(), id); };
    SQLite::Statement& w = conn.stmt("SELECT id FROM users" + std::string(q.disabled ? " WHERE disabled = :disabled" : "") + order);
    if (q.disabled) w.bind(":disabled", *q.disabled ? 1 : 0);
    std::vector<int64_t> ids;
    int64_t skip = offset;
    while (static_cast<int64_t>(ids.size()) < limit && w.executeStep()) {
      const int64_t id = w.getColumn(0).getInt64();
      if (!matches(id)) continue;
      if (skip > 0) {
        --skip;
        continue;
      }
      ids.push_back(id);
    }
    SQLite::Statement& one = conn.stmt(std::string("SELECT ") + kUserCols + " FROM users WHERE id = ?");
    for (int64_t id : ids) {
      one.reset();
      one.bind(1, static_cast<int64_t>(id));
      if (one.executeStep()) page.users.push_back(read_user(one));
    }
    if (backwards) std::reverse(page.users.begin(), page.users.end());
    return page;
  }
  SQLite::Statement& s = conn.stmt(std::string("SELECT ") + kUserCols +
                              " FROM users WHERE id IN (SELECT id FROM users" + where + order +
                              " LIMIT :limit OFFSET :offset)" + order);
  if (fts) s.bind(":m", match);
  else if (search) s.bind(":q", q.q_folded);
  if (q.disabled) s.bind(":disabled", *q.disabled ? 1 : 0);
  s.bind(":limit", static_cast<int64_t>(limit));
  s.bind(":offset", static_cast<int64_t>(offset));
  while (s.executeStep()) page.users.push_back(read_user(s));
  if (backwards) std::reverse(page.users.begin(), page.users.end());
  return page;
}

}  // namespace resetd::storage::user_list
