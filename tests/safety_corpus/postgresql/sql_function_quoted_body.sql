-- expect: update_without_where
CREATE FUNCTION reset_counters() RETURNS void LANGUAGE sql AS 'UPDATE counters SET n = 0';
