-- expect: drop_table
DROP TABLE IF EXISTS [old users];
