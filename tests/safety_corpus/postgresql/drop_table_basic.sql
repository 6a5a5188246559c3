-- expect: drop_table
DROP TABLE users;
