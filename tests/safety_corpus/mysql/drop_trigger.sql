-- expect: drop_trigger
DROP TRIGGER IF EXISTS orders_before_insert;
