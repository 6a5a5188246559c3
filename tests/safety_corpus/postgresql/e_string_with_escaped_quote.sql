-- expect:
INSERT INTO notes (body) VALUES (E'it\'s; DROP TABLE users; --');
