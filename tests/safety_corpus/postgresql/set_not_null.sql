-- expect: set_not_null
ALTER TABLE users ALTER COLUMN email SET NOT NULL;
