-- expect: drop_trigger
/*!50032 DROP TRIGGER IF EXISTS orders_after_update */;
