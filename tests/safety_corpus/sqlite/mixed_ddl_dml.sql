-- expect: mixed_ddl_dml
ALTER TABLE t ADD COLUMN c TEXT;
UPDATE t SET c = 'x' WHERE c IS NULL;
