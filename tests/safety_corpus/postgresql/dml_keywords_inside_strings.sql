-- expect:
INSERT INTO audit (note) VALUES ('DELETE FROM users; DROP TABLE users; TRUNCATE orders');
