-- 0006: a staff account's second factor (issue 23). The TOTP secret is sealed
-- with the data dir's key (like the directory bind password); confirmed_at is
-- NULL while enrolment waits for a first code, and such a row asks for no
-- second step. last_step is the newest 30 s step whose code was accepted: no
-- code of that step or an older one is accepted again. recovery holds one line
-- per recovery code: its Argon2id hash, or '-' once used.
CREATE TABLE second_factors (
  user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  totp_sealed TEXT NOT NULL,
  confirmed_at INTEGER,
  last_step INTEGER NOT NULL DEFAULT 0,
  recovery TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL
);
