-- expect:
CREATE TRIGGER audit_user AFTER UPDATE ON "User"
BEGIN
  INSERT INTO audit (kind) VALUES (CASE WHEN new.email <> old.email THEN 'email' ELSE 'other' END);
  UPDATE stats SET n = n + 1 WHERE id = 1;
END;
