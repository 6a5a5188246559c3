-- expect: delete_without_where
CREATE OR REPLACE FUNCTION purge_cache() RETURNS void AS $$
BEGIN
  DELETE FROM cache;
END;
$$ LANGUAGE plpgsql;
