-- expect: alter_column_type
ALTER TABLE users ALTER COLUMN name TYPE varchar(50);
