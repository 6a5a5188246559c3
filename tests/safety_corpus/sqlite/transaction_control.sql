-- expect: transaction_control*2
BEGIN TRANSACTION;
INSERT INTO t (id) VALUES (1);
COMMIT;
