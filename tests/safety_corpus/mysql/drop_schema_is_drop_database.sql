-- expect: drop_database
DROP SCHEMA legacy;
