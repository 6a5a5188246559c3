-- expect: delete_without_where
CREATE FUNCTION clear_t() RETURNS void LANGUAGE sql
BEGIN ATOMIC
  DELETE FROM t;
END;
