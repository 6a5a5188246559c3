-- expect: add_unique_constraint
ALTER TABLE users ADD COLUMN handle text UNIQUE;
