-- expect: create_index_non_concurrent
CREATE TABLE IF NOT EXISTS tags (id int);
CREATE INDEX tags_id_idx ON tags (id);
