-- expect:
CREATE TABLE tmp (id INTEGER);
INSERT INTO tmp (id) VALUES (1);
DROP TABLE tmp;
