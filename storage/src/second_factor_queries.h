// The second_factors table (migration 0006): one row per staff account with
// a second factor. Used by sqlite_store.cpp inside its transactions.
#pragma once

#include <cstdint>
#include <optional>

#include "resetd/storage/records.h"
#include "sqlite_conn.h"

namespace resetd::storage::second_factor_queries {

std::optional<SecondFactorRecord> get(Conn& c, int64_t user_id);
void put(Conn& c, const SecondFactorRecord& f);
bool remove(Conn& c, int64_t user_id);

}  // namespace resetd::storage::second_factor_queries
