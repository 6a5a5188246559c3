-- expect: delete_without_where
CREATE TRIGGER reset_cache AFTER UPDATE ON settings
BEGIN
  DELETE FROM cache;
END;
