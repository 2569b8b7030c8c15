-- 0010: which user each change of user_changes (0008) was to, and changes of
-- the sort columns too (issue 21 item 13). The ids of a trigram search's
-- matches, kept in sort order across writes (match_lists.h), are brought up to
-- date by placing again only the users changed since; a row without user_id
-- (written before this migration) makes a kept list be read again, once.
-- An update of username, display_name or created_at alone adds -1/+1 of the
-- same values: no total moves.
ALTER TABLE user_changes ADD COLUMN user_id INTEGER;
DROP TRIGGER user_changes_insert;
DROP TRIGGER user_changes_delete;
DROP TRIGGER user_changes_update;
CREATE TRIGGER user_changes_insert AFTER INSERT ON users BEGIN
  INSERT INTO user_changes (sign, disabled, must_change, role, search_text, user_id)
    VALUES (1, new.disabled, new.must_change, new.role, new.search_text, new.id);
  DELETE FROM user_changes WHERE seq <= (SELECT max(seq) FROM user_changes) - 4096;
END;
CREATE TRIGGER user_changes_delete AFTER DELETE ON users BEGIN
  INSERT INTO user_changes (sign, disabled, must_change, role, search_text, user_id)
    VALUES (-1, old.disabled, old.must_change, old.role, old.search_text, old.id);
  DELETE FROM user_changes WHERE seq <= (SELECT max(seq) FROM user_changes) - 4096;
END;
CREATE TRIGGER user_changes_update AFTER UPDATE OF id, disabled, must_change, role, search_text, username,
  display_name, created_at ON users
WHEN old.id IS NOT new.id OR old.disabled IS NOT new.disabled OR old.must_change IS NOT new.must_change
  OR old.role IS NOT new.role OR old.search_text IS NOT new.search_text OR old.username IS NOT new.username
  OR old.display_name IS NOT new.display_name OR old.created_at IS NOT new.created_at BEGIN
  INSERT INTO user_changes (sign, disabled, must_change, role, search_text, user_id)
    VALUES (-1, old.disabled, old.must_change, old.role, old.search_text, old.id);
  INSERT INTO user_changes (sign, disabled, must_change, role, search_text, user_id)
    VALUES (1, new.disabled, new.must_change, new.role, new.search_text, new.id);
  DELETE FROM user_changes WHERE seq <= (SELECT max(seq) FROM user_changes) - 4096;
END;
