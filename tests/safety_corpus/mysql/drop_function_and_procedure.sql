-- expect: drop_function, drop_procedure
DROP FUNCTION IF EXISTS order_total;
DROP PROCEDURE `shop`.archive_orders;
