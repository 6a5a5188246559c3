-- expect:
INSERT OR REPLACE INTO settings (key, value) VALUES ('a', 'b');
