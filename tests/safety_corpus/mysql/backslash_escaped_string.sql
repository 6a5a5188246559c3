-- expect:
INSERT INTO notes (body) VALUES ('it\'s; DROP TABLE users; \\'), ("say \"TRUNCATE t\"");
