-- expect: alter_column_type, unparsed
ALTER TABLE orders ALTER COLUMN total TYPE integer, OWNER TO billing;
