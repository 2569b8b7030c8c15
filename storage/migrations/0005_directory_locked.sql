-- 0005: the directory's own lockout of a directory user (AD lockoutTime in
-- force, ppolicy pwdAccountLockedTime), as the last sync or read of the entry
-- saw it; shown as `directory_locked` and offered for unlock. 0 for local users.
ALTER TABLE users ADD COLUMN directory_locked INTEGER NOT NULL DEFAULT 0;
