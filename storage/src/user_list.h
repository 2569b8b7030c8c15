// The page of GET /users (Reader::list_users): search, filters, sort and
// `total`. Used by sqlite_store.cpp inside its read transactions.
#pragma once

#include "resetd/storage/records.h"
#include "sqlite_conn.h"

namespace resetd::storage::user_list {

UserPage page(Conn& c, const UserQuery& q);

}  // namespace resetd::storage::user_list
