-- 0003: reads that do not grow with the number of users.
-- Search: an FTS5 trigram index over users.search_text (already folded by
-- accounts, Turkish i included). case_sensitive 1 keeps it byte-exact, so a
-- quoted trigram phrase matches exactly where instr(search_text, q) does, for
-- queries of 3+ characters; shorter ones still scan. External content: the
-- text is stored once, in users.
CREATE VIRTUAL TABLE users_fts USING fts5(
  search_text, content='users', content_rowid='id', tokenize='trigram case_sensitive 1');
INSERT INTO users_fts(users_fts) VALUES ('rebuild');
CREATE TRIGGER users_fts_insert AFTER INSERT ON users BEGIN
  INSERT INTO users_fts(rowid, search_text) VALUES (new.id, new.search_text);
END;
CREATE TRIGGER users_fts_delete AFTER DELETE ON users BEGIN
  INSERT INTO users_fts(users_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
END;
CREATE TRIGGER users_fts_update AFTER UPDATE OF search_text ON users
WHEN old.search_text IS NOT new.search_text BEGIN
  INSERT INTO users_fts(users_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
  INSERT INTO users_fts(rowid, search_text) VALUES (new.id, new.search_text);
END;

-- Kept counts per disabled state: `total` of an unfiltered list without
-- counting rows.
CREATE TABLE user_counts (
  disabled INTEGER PRIMARY KEY,
  n INTEGER NOT NULL
);
INSERT INTO user_counts (disabled, n) SELECT disabled, count(*) FROM users GROUP BY disabled;
CREATE TRIGGER user_counts_insert AFTER INSERT ON users BEGIN
  INSERT INTO user_counts (disabled, n) VALUES (new.disabled, 1)
    ON CONFLICT(disabled) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER user_counts_delete AFTER DELETE ON users BEGIN
  UPDATE user_counts SET n = n - 1 WHERE disabled = old.disabled;
END;
CREATE TRIGGER user_counts_update AFTER UPDATE OF disabled ON users
WHEN old.disabled IS NOT new.disabled BEGIN
  UPDATE user_counts SET n = n - 1 WHERE disabled = old.disabled;
  INSERT INTO user_counts (disabled, n) VALUES (new.disabled, 1)
    ON CONFLICT(disabled) DO UPDATE SET n = n + 1;
END;

-- The Active / Disabled lists, sorted: pages walk an index, never a sort.
CREATE INDEX users_disabled_username ON users(disabled, username);
CREATE INDEX users_disabled_display_name ON users(disabled, display_name);
CREATE INDEX users_disabled_created_at ON users(disabled, created_at);
