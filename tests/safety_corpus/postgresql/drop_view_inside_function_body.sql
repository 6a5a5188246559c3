-- expect: drop_view
CREATE OR REPLACE FUNCTION reset_reports() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  DROP VIEW IF EXISTS report_cache;
END;
$$;
