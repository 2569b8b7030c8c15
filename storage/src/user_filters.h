// The list filters of Active users (UserQuery::filter): must_change, locked,
// admins, temp_expiring. Each reads through its partial index (migration
// 0007), with the search and the blocked/enabled choice on top. Used by
// sqlite_store.cpp inside its read transactions.
#pragma once

#include <cstdint>
#include <vector>

#include "resetd/storage/records.h"
#include "sqlite_conn.h"

namespace resetd::storage::user_filters {

struct IdPage {
  std::vector<int64_t> ids;  // the page, in the query's order
  int64_t total = 0;         // all matches
};

// Whether `filter` is one of the names above.
bool known(const std::string& filter);

// The page of ids matching q (q.filter not empty and known).
IdPage page(Conn& c, const UserQuery& q);

}  // namespace resetd::storage::user_filters
