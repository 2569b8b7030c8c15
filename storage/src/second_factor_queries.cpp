// See second_factor_queries.h.
#include "second_factor_queries.h"

namespace resetd::storage::second_factor_queries {

std::optional<SecondFactorRecord> get(Conn& c, int64_t user_id) {
  SQLite::Statement& s = c.stmt("SELECT user_id, totp_sealed, confirmed_at, last_step, recovery, created_at "
                                "FROM second_factors WHERE user_id = ?");
  s.bind(1, static_cast<int64_t>(user_id));
  if (!s.executeStep()) return std::nullopt;
  SecondFactorRecord f;
  f.user_id = s.getColumn(0).getInt64();
  f.totp_sealed = s.getColumn(1).getString();
  if (!s.getColumn(2).isNull()) f.confirmed_at = s.getColumn(2).getInt64();
  f.last_step = s.getColumn(3).getInt64();
  const std::string rec = s.getColumn(4).getString();
  for (size_t at = 0; at < rec.size();) {
    size_t nl = rec.find('\n', at);
    if (nl == std::string::npos) nl = rec.size();
    f.recovery.push_back(rec.substr(at, nl - at));
    at = nl + 1;
  }
  f.created_at = s.getColumn(5).getInt64();
  return f;
}

void put(Conn& c, const SecondFactorRecord& f) {
  std::string rec;
  for (const auto& h : f.recovery) rec += (rec.empty() ? "" : "\n") + h;
  SQLite::Statement& s = c.stmt("INSERT OR REPLACE INTO second_factors (user_id, totp_sealed, confirmed_at, "
                                "last_step, recovery, created_at) VALUES (?,?,?,?,?,?)");
  s.bind(1, static_cast<int64_t>(f.user_id));
  s.bind(2, f.totp_sealed);
  if (f.confirmed_at) s.bind(3, static_cast<int64_t>(*f.confirmed_at));
  else s.bind(3);
  s.bind(4, static_cast<int64_t>(f.last_step));
  s.bind(5, rec);
  s.bind(6, static_cast<int64_t>(f.created_at));
  s.exec();
}

bool remove(Conn& c, int64_t user_id) {
  SQLite::Statement& s = c.stmt("DELETE FROM second_factors WHERE user_id = ?");
  s.bind(1, static_cast<int64_t>(user_id));
  return s.exec() > 0;
}

}  // namespace resetd::storage::second_factor_queries
