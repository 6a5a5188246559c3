-- server-version: 10.23
-- expect: add_column_rewrite
ALTER TABLE events ADD COLUMN flag boolean DEFAULT false;
