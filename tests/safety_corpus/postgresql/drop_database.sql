-- expect: drop_database
DROP DATABASE legacy;
