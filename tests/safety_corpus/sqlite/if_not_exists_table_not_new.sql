-- expect: create_unique_index
CREATE TABLE IF NOT EXISTS tags (id INTEGER, name TEXT);
CREATE UNIQUE INDEX tags_name ON tags (name);
