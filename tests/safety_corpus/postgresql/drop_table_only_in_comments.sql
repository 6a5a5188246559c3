-- expect:
-- DROP TABLE users;
/* DROP TABLE users; TRUNCATE orders; */
SELECT 1;
