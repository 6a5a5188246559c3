-- expect:
CREATE TRIGGER trg AFTER DELETE ON users FOR EACH ROW
BEGIN
  DELETE FROM sessions WHERE user_id = OLD.id;
  UPDATE stats SET users = users - 1 WHERE id = 1;
END;
