-- expect: unparsed
REPLACE INTO settings (key, value) VALUES ('a', 'b');
