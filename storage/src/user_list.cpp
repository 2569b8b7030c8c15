#include "user_list.h"

#include <algorithm>
#include <functional>
#include <optional>

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

// Up to this many trigram matches are looked up and sorted.
constexpr int64_t kFewMatches = 400;
// A search or filter matching at least one user in kDense is served by walking
// the sort's index and testing each row: a page of 50 comes after ~50·kDense
// rows, however many match. Fewer matches: their own index (trigram, partial).
constexpr int64_t kDense = 64;
// A trigram search walks that way only when one user in kDenseSearch matches:
// its matches can bunch up in the sort order (q=YILDIZ: all of Yıldız sorts
// after the other surnames of each first name), and below that, reading the
// matching ids and testing membership in memory while walking the index alone
// costs less than reading each row walked.
constexpr int64_t kDenseSearch = 4;

std::vector<UserRecord> rows(Conn& conn, const std::vector<int64_t>& ids) {
  std::vector<UserRecord> out;
  SQLite::Statement& one = conn.stmt(std::string("SELECT ") + kUserCols + " FROM users WHERE id = ?");
  for (int64_t id : ids) {
    one.reset();
    one.bind(1, static_cast<int64_t>(id));
    if (one.executeStep()) out.push_back(read_user(one));
  }
  return out;
}

void bind_q(SQLite::Statement& s, const UserQuery& q) {
  if (q.disabled) s.bind(":disabled", *q.disabled ? 1 : 0);
  if (!q.q_folded.empty()) s.bind(":q", q.q_folded);
}

// The total of a search or a clock-free filter: kept in `memo` and brought up
// to date from user_changes (count_memo.h), or count() when it cannot be.
// `terms`: the filter's condition over user_changes' columns, or "".
int64_t kept_total(Conn& conn, CountMemo* memo, const UserQuery& q, const std::string& terms,
                   const std::function<int64_t()>& count) {
  if (!memo) return count();  // a write transaction: its snapshot may never commit
  const std::string key = q.filter + '\x1f' + (q.disabled ? (*q.disabled ? "1" : "0") : "-") + '\x1f' + q.q_folded;
  SQLite::Statement& newest = conn.stmt("SELECT coalesce(max(seq), 0) FROM user_changes");
  newest.executeStep();
  const int64_t now = newest.getColumn(0).getInt64();
  // A total kept at a newer snapshot than this one cannot be taken back:
  // those changes are not visible here. Counted instead.
  if (const auto e = memo->get(key); e && e->seq <= now) {
    SQLite::Statement& oldest = conn.stmt("SELECT coalesce(min(seq), 0) FROM user_changes");
    oldest.executeStep();
    // Every change since is still there (only the oldest are pruned).
    if (e->seq == now || e->seq + 1 >= oldest.getColumn(0).getInt64()) {
      int64_t delta = 0;
      if (e->seq != now) {
        std::string where = " WHERE seq > :from AND seq <= :to";
        if (!terms.empty()) where += " AND " + terms;
        if (q.disabled) where += " AND disabled = :disabled";
        if (!q.q_folded.empty()) where += " AND instr(search_text, :q) > 0";
        SQLite::Statement& d = conn.stmt("SELECT coalesce(sum(sign), 0) FROM user_changes" + where);
        d.bind(":from", static_cast<int64_t>(e->seq));
        d.bind(":to", static_cast<int64_t>(now));
        bind_q(d, q);
        d.executeStep();
        delta = d.getColumn(0).getInt64();
      }
      const int64_t n = e->count + delta;
      memo->put(key, {n, now});
      return n;
    }
  }
  const int64_t n = count();
  memo->put(key, {n, now});
  return n;
}

// Which rows a page reads: a page past the middle is the same rows read from
// the other end (backwards), so the last page costs what the first does.
struct Window {
  std::string order;  // " ORDER BY sort dir, id dir"
  int64_t offset = 0;
  int64_t limit = 0;
  bool backwards = false;
};

Window window(const UserQuery& q, int64_t total) {
  Window w;
  std::string sort = "username";
  for (const char* k : {"username", "display_name", "created_at"})
    if (q.sort == k) sort = k;
  bool descending = q.descending;
  w.offset = q.offset;
  w.limit = std::min(q.limit, total - q.offset);
  w.backwards = q.offset > total / 2;
  if (w.backwards) {
    descending = !descending;
    w.offset = total - q.offset - w.limit;
  }
  const char* dir = descending ? " DESC" : " ASC";
  w.order = " ORDER BY " + sort + dir + ", id" + dir;
  return w;
}

UserPage finish(Conn& conn, UserPage page, const Window& w, const std::vector<int64_t>& ids) {
  page.users = rows(conn, ids);
  if (w.backwards) std::reverse(page.users.begin(), page.users.end());
  return page;
}

// The page's ids from the kept list of a trigram search's matches (with a
// clock-free filter: `stable`, or null), in the page's order; nullopt when no
// list is kept for this snapshot (an older one, or a write transaction) or it
// disagrees with `total`: then the walk answers.
std::optional<std::vector<int64_t>> kept_slice(Conn& conn, CountMemo* memo, const UserQuery& q, const char* stable,
                                               const std::string& match, int64_t total) {
  if (!memo) return std::nullopt;
  MatchLists::Spec spec;
  spec.sort = "username";
  for (const char* k : {"username", "display_name", "created_at"})
    if (q.sort == k) spec.sort = k;
  spec.key = q.filter + '\x1f' + (q.disabled ? (*q.disabled ? "1" : "0") : "-") + '\x1f' + spec.sort + '\x1f' +
             q.q_folded;
  spec.m = match;
  spec.q = q.q_folded;
  spec.disabled = q.disabled;
  const std::string filter = stable ? std::string(" AND +(") + stable + ")" : "";
  const std::string disabled = q.disabled ? " AND +disabled = :disabled" : "";
  // The matches read by id and sorted (the unary + keeps SQLite off the sort's index).
  spec.read = "SELECT id FROM users WHERE id IN (SELECT rowid FROM users_fts WHERE users_fts MATCH :m)" + filter +
              (stable ? " AND instr(search_text, :q) > 0" : "") + disabled + " ORDER BY +" + spec.sort + ", +id";
  spec.matches = "SELECT 1 FROM users WHERE id = :id AND instr(search_text, :q) > 0" + filter + disabled;
  SQLite::Statement& newest = conn.stmt("SELECT coalesce(max(seq), 0) FROM user_changes");
  newest.executeStep();
  const auto l = memo->lists().get(conn, spec, newest.getColumn(0).getInt64());
  if (!l || static_cast<int64_t>(l->ids.size()) != total) return std::nullopt;
  std::vector<int64_t> ids;
  const int64_t n = total;
  for (int64_t k = q.offset; k < std::min(n, q.offset + q.limit); ++k)
    ids.push_back(l->ids[static_cast<size_t>(q.descending ? n - 1 - k : k)]);
  return ids;
}
}  // namespace

// Same answers as a scan with instr(search_text, q) ORDER BY sort, id
// LIMIT/OFFSET, but cheap at 1,000,000 users:
// - `total`: no q and no filter from the kept counts (user_counts); a search
//   or a clock-free filter from the memo (count_memo.h), counted only the
//   first time it is asked or after 4096 changes; locked / temp_expiring
//   through their partial index.
// - the page: M of N users match. M ≥ N/kDense: walk the sort's index testing
//   each row (50 hits after ~50·N/M rows). Else a filter reads its partial
//   index; a q of 3+ characters its trigram index: M ≤ kFewMatches ids looked
//   up and sorted, more kept in sort order across writes (match_lists.h) and
//   the page a slice of them; where none can be kept (a write transaction, an
//   older snapshot, a clock filter) read into memory and the sort's index
//   walked keeping ids found among them (a binary search here, cheaper than
//   SQLite probing an IN list). A shorter q: the scan (the trigram index
//   cannot serve it).
// A filter with a trigram search: its matches first when they are few or
// fewer than the filter's. Only the page's rows are read whole. (A unary +
// keeps SQLite from using an index for that term.)
UserPage page(Conn& conn, const UserQuery& q, CountMemo* memo) {
  auto scalar = [&](const std::string& sql, std::optional<bool> disabled) {
    SQLite::Statement& c = conn.stmt(sql);
    if (disabled) c.bind(":disabled", *disabled ? 1 : 0);
    c.executeStep();
    return c.getColumn(0).getInt64();
  };
  auto kept = [&](bool disabled) {
    return scalar("SELECT coalesce(sum(n), 0) FROM user_counts WHERE disabled = :disabled", disabled);
  };
  // The users the walked index holds.
  const int64_t users = q.disabled ? kept(*q.disabled) : scalar("SELECT coalesce(sum(n), 0) FROM user_counts", std::nullopt);
  UserPage page;

  const bool search = !q.q_folded.empty();
  const bool fts = search && trigram_searchable(q.q_folded);
  std::string match;
  if (fts) {
    match = "\"";
    for (char ch : q.q_folded) match += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    match += "\"";
  }
  const std::string in_matches = "id IN (SELECT rowid FROM users_fts WHERE users_fts MATCH :m)";
  const std::string on_disabled = q.disabled ? " AND disabled = :disabled" : "";

  std::vector<int64_t> hits;  // a trigram search's matching ids, ascending
  bool have_hits = false;
  auto read_hits = [&] {
    if (have_hits) return;
    SQLite::Statement& f = conn.stmt("SELECT rowid FROM users_fts WHERE users_fts MATCH :m");
    f.bind(":m", match);
    while (f.executeStep()) hits.push_back(f.getColumn(0).getInt64());
    if (!std::is_sorted(hits.begin(), hits.end())) std::sort(hits.begin(), hits.end());
    have_hits = true;
  };
  // The sort's index walked from the window's offset, keeping the ids among the
  // matches (a binary search, not SQLite probing an IN list per entry, ~1 µs
  // each) that `keep` also accepts; stops at the window's end.
  auto walk_hits = [&](const Window& w, const std::function<bool(int64_t)>& keep) {
    read_hits();
    SQLite::Statement& s = conn.stmt("SELECT id FROM users" + std::string(q.disabled ? " WHERE disabled = :disabled" : "") + w.order);
    if (q.disabled) s.bind(":disabled", *q.disabled ? 1 : 0);
    std::vector<int64_t> ids;
    int64_t skip = w.offset;
    while (static_cast<int64_t>(ids.size()) < w.limit && s.executeStep()) {
      const int64_t id = s.getColumn(0).getInt64();
      if (!std::binary_search(hits.begin(), hits.end(), id) || !keep(id)) continue;
      if (skip > 0) {
        --skip;
        continue;
      }
      ids.push_back(id);
    }
    return ids;
  };
  if (!q.filter.empty()) {
    const char* stable = user_filters::stable_where(q.filter);
    // A trigram search inside a filter: when the search matches few users, or
    // fewer than a clock-free filter does, its matches are read first and the
    // filter tested on each (filter=must_change&q=0421 read all of
    // must_change's index, ~1,000,000 rows at 1M users, for the page and for
    // the first count). Both totals are over all users (no disabled choice),
    // kept like any total.
    // The clock-free filter's own total (over all users), asked once.
    int64_t of_filter = -1;
    auto filter_total = [&] {
      if (of_filter < 0) {
        UserQuery fq = q;
        fq.q_folded.clear();
        fq.disabled.reset();
        of_filter = kept_total(conn, memo, fq, stable, [&] { return user_filters::count(conn, fq, false); });
      }
      return of_filter;
    };
    int64_t matches = -1;
    bool from_matches = false;
    if (fts) {
      UserQuery sq = q;
      sq.filter.clear();
      sq.disabled.reset();
      matches = kept_total(conn, memo, sq, "", [&] {
        read_hits();
        return static_cast<int64_t>(hits.size());
      });
      from_matches = matches <= kFewMatches;
      if (!from_matches && stable) from_matches = matches < filter_total();
    }
    auto count = [&]() -> int64_t {
      // A search inside a clock-free filter that most users match: counted
      // along the table, not through the filter's index (a random read of the
      // table per entry: the first ask of filter=must_change&q=example took
      // 6-8 s at 1M users).
      if (!from_matches) {
        const auto all = [&] { return scalar("SELECT coalesce(sum(n), 0) FROM user_counts", std::nullopt); };
        return user_filters::count(conn, q, stable && search && filter_total() * kDense >= all());
      }
      read_hits();
      int64_t n = 0;
      for (int64_t id : hits) n += user_filters::holds(conn, q, id);
      return n;
    };
    page.total = stable ? kept_total(conn, memo, q, stable, count) : count();
    if (q.offset >= page.total || q.limit <= 0) return page;
    const Window w = window(q, page.total);
    // A search inside a clock-free filter bunches like a search (kDenseSearch).
    const bool dense = page.total * (fts && stable ? kDenseSearch : kDense) >= users;
    if (from_matches && !dense) {
      if (matches <= kFewMatches)
        return finish(conn, std::move(page), w,
                      user_filters::ids_among_matches(conn, q, match, w.order, w.offset, w.limit));
      if (stable)
        if (auto ids = kept_slice(conn, memo, q, stable, match, page.total))
          return finish(conn, std::move(page), Window{}, *ids);
      // The sort's index walked, ids kept that are among the matches and
      // whose row passes the filter (each probed by id).
      return finish(conn, std::move(page), w,
                    walk_hits(w, [&](int64_t id) { return user_filters::holds(conn, q, id); }));
    }
    return finish(conn, std::move(page), w, user_filters::ids(conn, q, w.order, w.offset, w.limit, dense));
  }

  // How many match, counted (what the memo keeps).
  auto count = [&]() -> int64_t {
    if (!fts) {
      SQLite::Statement& c = conn.stmt("SELECT count(*) FROM users WHERE instr(search_text, :q) > 0" + on_disabled);
      bind_q(c, q);
      c.executeStep();
      return c.getColumn(0).getInt64();
    }
    read_hits();
    const auto m = static_cast<int64_t>(hits.size());
    if (!q.disabled) return m;
    // Blocked or not among many matches: counted on the smaller side.
    const bool d = *q.disabled;
    const auto scan_count = [&](bool which) {
      SQLite::Statement& c = conn.stmt("SELECT id FROM users WHERE disabled = :disabled");
      c.bind(":disabled", which ? 1 : 0);
      int64_t n = 0;
      while (c.executeStep()) n += std::binary_search(hits.begin(), hits.end(), c.getColumn(0).getInt64());
      return n;
    };
    if (m <= kFewMatches) {
      SQLite::Statement& c = conn.stmt("SELECT count(*) FROM users WHERE " + in_matches + " AND +disabled = :disabled");
      c.bind(":m", match);
      c.bind(":disabled", d ? 1 : 0);
      c.executeStep();
      return c.getColumn(0).getInt64();
    }
    return kept(d) <= kept(!d) ? scan_count(d) : m - scan_count(!d);
  };

  if (!search) page.total = users;
  else page.total = kept_total(conn, memo, q, "", count);
  if (q.offset >= page.total || q.limit <= 0) return page;
  const Window w = window(q, page.total);
  const bool dense = search && page.total * (fts ? kDenseSearch : kDense) >= users;

  std::string where = " WHERE 1";
  if (dense || (search && !fts)) {
    // Most users match (or no index can serve q): the sort's index, each row tested.
    where += " AND instr(search_text, :q) > 0" + on_disabled;
  } else if (fts && page.total > kFewMatches) {
    // Many matches, but far from most: the kept list of them, else the same
    // walk of the sort's index.
    if (auto ids = kept_slice(conn, memo, q, nullptr, match, page.total))
      return finish(conn, std::move(page), Window{}, *ids);
    return finish(conn, std::move(page), w, walk_hits(w, [](int64_t) { return true; }));
  } else if (fts) {
    where += " AND " + in_matches + (q.disabled ? " AND +disabled = :disabled" : "");
  } else {
    where += on_disabled;
  }
  SQLite::Statement& s = conn.stmt("SELECT id FROM users" + where + w.order + " LIMIT :limit OFFSET :offset");
  if (where.find(":m") != std::string::npos) s.bind(":m", match);
  if (where.find(":q") != std::string::npos) s.bind(":q", q.q_folded);
  if (q.disabled) s.bind(":disabled", *q.disabled ? 1 : 0);
  s.bind(":limit", static_cast<int64_t>(w.limit));
  s.bind(":offset", static_cast<int64_t>(w.offset));
  std::vector<int64_t> ids;
  while (s.executeStep()) ids.push_back(s.getColumn(0).getInt64());
  return finish(conn, std::move(page), w, ids);
}

}  // namespace resetd::storage::user_list
