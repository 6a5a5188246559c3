-- expect: add_column_rewrite
ALTER TABLE events ADD COLUMN token uuid DEFAULT gen_random_uuid();
