// The outbox table: the mail queue's reads (by id, the admin list and count,
// what is due, what is pending) and writes (queue, update, supersede, expire,
// requeue, prune). Used by sqlite_tx.cpp inside its transactions.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "resetd/storage/records.h"
#include "sqlite_conn.h"

namespace resetd::storage::outbox_queries {

std::optional<OutboxRecord> by_id(Conn& c, int64_t id);
int64_t count(Conn& c, const OutboxQuery& q);  // ignores offset/limit
std::vector<OutboxRecord> list(Conn& c, const OutboxQuery& q);
std::vector<OutboxRecord> due(Conn& c, int64_t now, int limit);
int64_t pending_count(Conn& c);  // queued + sending
std::optional<int64_t> next_due(Conn& c);

int64_t insert(Conn& c, const OutboxRecord& m);  // returns the new id
void update(Conn& c, const OutboxRecord& m);
int64_t supersede_secret(Conn& c, int64_t user_id);
int64_t requeue_sending(Conn& c, int64_t now);
int64_t expire_secret(Conn& c, int64_t now);
int64_t purge(Conn& c, int64_t before);

}  // namespace resetd::storage::outbox_queries
