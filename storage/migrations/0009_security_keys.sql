-- 0009: WebAuthn security keys, a second factor beside TOTP (issue 23). One row
-- per key: its credential id and ES256 public key (x||y), base64url, both public
-- values; the relying party id (host name) it was made for; its signature
-- counter (0 = the key does not count). A user may have several keys and TOTP.
CREATE TABLE security_keys (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  credential_id TEXT NOT NULL UNIQUE,
  public_key TEXT NOT NULL,
  rp_id TEXT NOT NULL,
  sign_count INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  last_used_at INTEGER
);
CREATE INDEX security_keys_user ON security_keys(user_id);
