// Queries on directory_intents beyond the row reads and writes of the store
// itself: what the resolver asks right before it writes a password again, and
// the daily prune. Used by sqlite_tx.cpp inside its transactions.
#pragma once

#include <cstdint>

#include "sqlite_conn.h"

namespace resetd::storage::intent_queries {

// Whether user `user_id` has an intent newer than `id` that completed
// (done or recovered): a write that landed after intent `id` was made.
bool completed_after(Conn& c, int64_t user_id, int64_t id);

// Deletes closed intents (any state but open) resolved before `before`;
// returns how many. Open intents are never pruned, however old.
int64_t purge_closed(Conn& c, int64_t before);

}  // namespace resetd::storage::intent_queries
