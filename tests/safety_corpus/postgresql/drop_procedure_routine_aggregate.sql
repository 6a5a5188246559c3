-- expect: drop_procedure, drop_function*2
DROP PROCEDURE archive_orders(date);
DROP ROUTINE IF EXISTS legacy_cleanup;
DROP AGGREGATE IF EXISTS median(numeric);
