-- 0002: self-service reset codes (8 digits, 10 minutes, 5 tries). The code is
-- kept only as a keyed MAC.
CREATE TABLE self_service_codes (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  code_mac TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  tries INTEGER NOT NULL DEFAULT 0,
  used_at INTEGER,
  created_at INTEGER NOT NULL
);
CREATE INDEX self_service_codes_user ON self_service_codes(user_id, created_at);
