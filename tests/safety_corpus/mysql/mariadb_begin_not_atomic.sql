-- expect: delete_without_where
BEGIN NOT ATOMIC
  DECLARE n INT DEFAULT 0;
  DELETE FROM queue;
END;
