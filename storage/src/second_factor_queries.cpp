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

std::vector<SecurityKeyRecord> keys(Conn& c, int64_t user_id) {
  SQLite::Statement& s = c.stmt("SELECT id, user_id, name, credential_id, public_key, rp_id, sign_count, "
                                "created_at, last_used_at FROM security_keys WHERE user_id = ? ORDER BY id");
  s.bind(1, static_cast<int64_t>(user_id));
  std::vector<SecurityKeyRecord> out;
  while (s.executeStep()) {
    SecurityKeyRecord k;
    k.id = s.getColumn(0).getInt64();
    k.user_id = s.getColumn(1).getInt64();
    k.name = s.getColumn(2).getString();
    k.credential_id = s.getColumn(3).getString();
    k.public_key = s.getColumn(4).getString();
    k.rp_id = s.getColumn(5).getString();
    k.sign_count = s.getColumn(6).getInt64();
    k.created_at = s.getColumn(7).getInt64();
    if (!s.getColumn(8).isNull()) k.last_used_at = s.getColumn(8).getInt64();
    out.push_back(std::move(k));
  }
  return out;
}

int64_t insert_key(Conn& c, const SecurityKeyRecord& k) {
  SQLite::Statement& s = c.stmt("INSERT INTO security_keys (user_id, name, credential_id, public_key, rp_id, "
                                "sign_count, created_at) VALUES (?,?,?,?,?,?,?) "
                                "ON CONFLICT (credential_id) DO NOTHING");
  s.bind(1, static_cast<int64_t>(k.user_id));
  s.bind(2, k.name);
  s.bind(3, k.credential_id);
  s.bind(4, k.public_key);
  s.bind(5, k.rp_id);
  s.bind(6, static_cast<int64_t>(k.sign_count));
  s.bind(7, static_cast<int64_t>(k.created_at));
  // A credential id another account holds: nothing written, 0 (the caller's
  // answer), not a constraint error that would end the write as a 500.
  if (s.exec() == 0) return 0;
  return c.db->getLastInsertRowid();
}

void touch_key(Conn& c, int64_t id, int64_t sign_count, int64_t at) {
  SQLite::Statement& s = c.stmt("UPDATE security_keys SET sign_count = ?, last_used_at = ? WHERE id = ?");
  s.bind(1, static_cast<int64_t>(sign_count));
  s.bind(2, static_cast<int64_t>(at));
  s.bind(3, static_cast<int64_t>(id));
  s.exec();
}

int64_t remove_keys(Conn& c, int64_t user_id, int64_t id) {
  SQLite::Statement& s = c.stmt(id > 0 ? "DELETE FROM security_keys WHERE user_id = ? AND id = ?"
                                       : "DELETE FROM security_keys WHERE user_id = ? AND ? = 0");
  s.bind(1, static_cast<int64_t>(user_id));
  s.bind(2, static_cast<int64_t>(id));
  return s.exec();
}

}  // namespace resetd::storage::second_factor_queries
