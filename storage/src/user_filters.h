// The list filters of Active users (UserQuery::filter): must_change, locked,
// admins, temp_expiring. Each reads through its partial index (migration
// 0007), with the search and the blocked/enabled choice on top, or — when it
// matches many users — by walking the sort's index and testing each row. Used
// by user_list.cpp inside its read transactions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "resetd/storage/records.h"
#include "sqlite_conn.h"

namespace resetd::storage::user_filters {

// Whether `filter` is one of the names above.
bool known(const std::string& filter);

// The filter's SQL condition when the clock plays no part in it (must_change,
// admins): it names only columns that user_changes (migration 0008) also has.
// Null for locked and temp_expiring, and for an unknown name.
const char* stable_where(const std::string& filter);

// How many users match q (q.filter known; with q.q_folded and q.disabled).
// walk: along the table (most users match), else through the partial index.
int64_t count(Conn& c, const UserQuery& q, bool walk);

// The matching ids in `order` (" ORDER BY …"), `limit` from `offset`. walk:
// along the sort's index, testing each row (cheap when most rows match); else
// through the filter's partial index (cheap when few do).
std::vector<int64_t> ids(Conn& c, const UserQuery& q, const std::string& order, int64_t offset, int64_t limit,
                         bool walk);

// The same ids when q.q_folded is a trigram search with few matches: the
// search's matches (`match`: its FTS5 phrase) read by id, the filter tested on
// each (a filter matching most users would otherwise walk its whole index).
std::vector<int64_t> ids_among_matches(Conn& c, const UserQuery& q, const std::string& match, const std::string& order,
                                       int64_t offset, int64_t limit);

// Whether user `id` matches the filter and q.disabled (not the search).
bool holds(Conn& c, const UserQuery& q, int64_t id);

}  // namespace resetd::storage::user_filters
