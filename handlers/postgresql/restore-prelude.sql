-- Run by restore-backup.sh at the start of the restore transaction: drop every
-- object that pg_dump recreates and every object created since the backup, so
-- the dump loads into a clean database. Extensions (and their members) stay:
-- the dump's CREATE EXTENSION IF NOT EXISTS finds them. Names are collected
-- before anything is dropped, and every DROP is IF EXISTS because CASCADE may
-- already have removed an object.
SET LOCAL client_min_messages = warning;
SET LOCAL search_path = pg_catalog;
DO $faber$
DECLARE
  stmt text;
  stmts text[];
BEGIN
  SELECT coalesce(array_agg(s ORDER BY o, s), '{}') INTO stmts FROM (
    SELECT 0 AS o, format('DROP SCHEMA IF EXISTS %I CASCADE', n.nspname) AS s
      FROM pg_namespace n
     WHERE n.nspname NOT IN ('public', 'pg_catalog', 'information_schema', 'pg_toast')
       AND n.nspname NOT LIKE 'pg\_temp\_%' AND n.nspname NOT LIKE 'pg\_toast\_temp\_%'
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass
                         AND d.objid = n.oid AND d.deptype = 'e')
    UNION ALL
    SELECT 1, format('DROP %s IF EXISTS %s CASCADE',
                     CASE p.prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE' ELSE 'FUNCTION' END,
                     p.oid::regprocedure)
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname = 'public'
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                         AND d.objid = p.oid AND d.deptype = 'e')
    UNION ALL
    -- tables before views before sequences: identity and serial sequences go with their table
    SELECT CASE WHEN c.relkind IN ('r', 'p', 'f') THEN 2 WHEN c.relkind IN ('v', 'm') THEN 3 ELSE 4 END,
           format('DROP %s IF EXISTS %I.%I CASCADE',
                  CASE c.relkind WHEN 'r' THEN 'TABLE' WHEN 'p' THEN 'TABLE' WHEN 'f' THEN 'FOREIGN TABLE'
                                 WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'SEQUENCE' END,
                  n.nspname, c.relname)
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'f', 'v', 'm', 'S')
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                         AND d.objid = c.oid AND d.deptype = 'e')
    UNION ALL
    SELECT 5, format('DROP %s IF EXISTS %I.%I CASCADE',
                     CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, n.nspname, t.typname)
      FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
     WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd', 'r', 'c')
       AND (t.typtype <> 'c' OR EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind = 'c'))
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass
                         AND d.objid = t.oid AND d.deptype = 'e')
  ) AS drops;
  FOREACH stmt IN ARRAY stmts LOOP
    EXECUTE stmt;
  END LOOP;
  PERFORM lo_unlink(oid) FROM pg_largeobject_metadata;
END
$faber$;
