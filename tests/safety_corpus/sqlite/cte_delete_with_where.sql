-- expect:
WITH old AS (SELECT id FROM logs WHERE ts < 0) DELETE FROM logs WHERE id IN (SELECT id FROM old);
