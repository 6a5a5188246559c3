-- expect: drop_not_null
ALTER TABLE users ALTER COLUMN email DROP NOT NULL;
