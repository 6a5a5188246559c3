-- expect: drop_table*2
DROP TABLE IF EXISTS "Session", public.audit_log CASCADE;
