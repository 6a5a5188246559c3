-- expect: drop_table*2
DROP TABLE a; DROP TABLE b;
