-- 0008: what each write did to the columns a list search or filter counts on
-- (issue 21 item 13). A page of GET /users whose search or filter matches
-- most users must not count them all again after every write: the store keeps
-- each such total with the seq it was counted at (count_memo.h) and brings it
-- up to date from the rows here (-1 the row as it was, +1 as it is). Only the
-- newest 4096 changes are kept; an older total is counted again, once.
CREATE TABLE user_changes (
  seq INTEGER PRIMARY KEY,
  sign INTEGER NOT NULL,
  disabled INTEGER NOT NULL,
  must_change INTEGER NOT NULL,
  role TEXT NOT NULL,
  search_text TEXT NOT NULL
);
CREATE TRIGGER user_changes_insert AFTER INSERT ON users BEGIN
  INSERT INTO user_changes (sign, disabled, must_change, role, search_text)
    VALUES (1, new.disabled, new.must_change, new.role, new.search_text);
  DELETE FROM user_changes WHERE seq <= (SELECT max(seq) FROM user_changes) - 4096;
END;
CREATE TRIGGER user_changes_delete AFTER DELETE ON users BEGIN
  INSERT INTO user_changes (sign, disabled, must_change, role, search_text)
    VALUES (-1, old.disabled, old.must_change, old.role, old.search_text);
  DELETE FROM user_changes WHERE seq <= (SELECT max(seq) FROM user_changes) - 4096;
END;
CREATE TRIGGER user_changes_update AFTER UPDATE OF disabled, must_change, role, search_text ON users
WHEN old.disabled IS NOT new.disabled OR old.must_change IS NOT new.must_change OR old.role IS NOT new.role
  OR old.search_text IS NOT new.search_text BEGIN
  INSERT INTO user_changes (sign, disabled, must_change, role, search_text)
    VALUES (-1, old.disabled, old.must_change, old.role, old.search_text);
  INSERT INTO user_changes (sign, disabled, must_change, role, search_text)
    VALUES (1, new.disabled, new.must_change, new.role, new.search_text);
  DELETE FROM user_changes WHERE seq <= (SELECT max(seq) FROM user_changes) - 4096;
END;
