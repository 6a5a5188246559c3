-- expect: drop_view, drop_trigger
DROP VIEW IF EXISTS v;
DROP TRIGGER IF EXISTS t;
