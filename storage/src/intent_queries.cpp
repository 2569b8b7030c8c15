// See intent_queries.h.
#include "intent_queries.h"

namespace resetd::storage::intent_queries {

bool completed_after(Conn& c, int64_t user_id, int64_t id) {
  SQLite::Statement& s = c.stmt("SELECT 1 FROM directory_intents WHERE user_id = ? AND id > ? "
                                "AND state IN ('done', 'recovered') LIMIT 1");
  s.bind(1, static_cast<int64_t>(user_id));
  s.bind(2, static_cast<int64_t>(id));
  return s.executeStep();
}

int64_t purge_closed(Conn& c, int64_t before) {
  SQLite::Statement& s = c.stmt("DELETE FROM directory_intents WHERE state != 'open' "
                                "AND resolved_at IS NOT NULL AND resolved_at < ?");
  s.bind(1, static_cast<int64_t>(before));
  return s.exec();
}

}  // namespace resetd::storage::intent_queries
