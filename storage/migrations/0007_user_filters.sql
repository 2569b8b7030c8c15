-- 0007: the list filters of Active users (blocked is `disabled`, already
-- indexed). Each filter has a partial index holding only its rows, in username
-- order, so that a filtered page reads those rows and not the whole table;
-- user_filters.cpp repeats each WHERE word for word so that SQLite uses them.
CREATE INDEX users_f_must_change ON users(username) WHERE must_change = 1;
CREATE INDEX users_f_locked ON users(username) WHERE (locked_until IS NOT NULL OR directory_locked = 1);
CREATE INDEX users_f_admins ON users(username) WHERE role <> 'user';
CREATE INDEX users_f_temp ON users(temp_expires_at) WHERE temp_expires_at IS NOT NULL;
-- A user's details read their last sign-in and who last set their password:
-- the newest entry of one action for one target (rowid order within a key).
CREATE INDEX audit_target ON audit(target, action);
