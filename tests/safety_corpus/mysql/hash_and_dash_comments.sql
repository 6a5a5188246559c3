-- expect:
# DROP TABLE users;
-- TRUNCATE orders;
SELECT 1--1
;
