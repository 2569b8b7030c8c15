-- 0004: directory users (OpenLDAP / Active Directory). A user synced from the
-- directory is keyed by the entry's stable id (entryUUID / objectGUID), not by
-- its DN, so renames and moves keep the local record (outbox, audit, locale).
-- directory_id = '' is a local account.
ALTER TABLE users ADD COLUMN directory_id TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN directory_dn TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX users_directory_id ON users(directory_id) WHERE directory_id != '';

-- A directory password write in flight. Written (and committed) before the
-- directory is touched; closed in the same transaction as the outbox rows and
-- the audit row once the directory took the password. `sealed` holds the new
-- password and the reset's options, sealed with the data dir's secret key,
-- and is erased when the intent is closed. An intent still open at start is
-- resolved by asking the directory (a bind with the sealed password), never
-- guessed.
CREATE TABLE directory_intents (
  id INTEGER PRIMARY KEY,
  user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
  username TEXT NOT NULL,
  directory_dn TEXT NOT NULL,
  action TEXT NOT NULL,
  actor TEXT NOT NULL DEFAULT '',
  client TEXT NOT NULL DEFAULT '',
  sealed BLOB NOT NULL DEFAULT x'',
  state TEXT NOT NULL DEFAULT 'open',
  detail TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  resolved_at INTEGER
);
CREATE INDEX directory_intents_state ON directory_intents(state);
