-- expect: drop_table*2, mixed_ddl_dml
DROP TABLE a; DROP TABLE b; DELETE FROM c WHERE id = 1;
