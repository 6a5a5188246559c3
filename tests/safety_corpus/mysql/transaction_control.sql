-- expect: transaction_control*2
START TRANSACTION;
UPDATE t SET x = 1 WHERE id = 2;
COMMIT;
