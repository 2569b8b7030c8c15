// The second_factors table (migration 0006): one row per staff account with
// a second factor. Used by sqlite_tx.cpp inside its transactions.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "resetd/storage/records.h"
#include "sqlite_conn.h"

namespace resetd::storage::second_factor_queries {

std::optional<SecondFactorRecord> get(Conn& c, int64_t user_id);
void put(Conn& c, const SecondFactorRecord& f);
bool remove(Conn& c, int64_t user_id);

// The security_keys table (migration 0009).
std::vector<SecurityKeyRecord> keys(Conn& c, int64_t user_id);
int64_t insert_key(Conn& c, const SecurityKeyRecord& k);
void touch_key(Conn& c, int64_t id, int64_t sign_count, int64_t at);
int64_t remove_keys(Conn& c, int64_t user_id, int64_t id);

}  // namespace resetd::storage::second_factor_queries
