-- expect: drop_table, mixed_ddl_dml
UPDATE a SET b = 1 WHERE id = 2;
DROP TABLE "old";
