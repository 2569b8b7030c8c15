// The page of GET /users (Reader::list_users): search, filters, sort and
// `total`. Used by sqlite_tx.cpp inside its read transactions.
#pragma once

#include "resetd/storage/records.h"
#include "count_memo.h"
#include "sqlite_conn.h"

namespace resetd::storage::user_list {

// memo: where totals are kept across writes; null inside a write transaction.
UserPage page(Conn& c, const UserQuery& q, CountMemo* memo);

}  // namespace resetd::storage::user_list
