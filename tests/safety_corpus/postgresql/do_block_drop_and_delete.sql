-- expect: drop_table, delete_without_where, mixed_ddl_dml
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_tables WHERE tablename = 'tmp_import') THEN
    DROP TABLE tmp_import;
  END IF;
  DELETE FROM audit_log;
END
$$;
