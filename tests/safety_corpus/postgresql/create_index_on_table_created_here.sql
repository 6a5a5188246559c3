-- expect:
CREATE TABLE tags (id serial PRIMARY KEY, name text NOT NULL);
CREATE UNIQUE INDEX tags_name_key ON tags (name);
CREATE INDEX tags_id_idx ON tags (id);
