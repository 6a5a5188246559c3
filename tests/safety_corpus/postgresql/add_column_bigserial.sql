-- expect: add_column_rewrite
ALTER TABLE events ADD COLUMN seq bigserial;
