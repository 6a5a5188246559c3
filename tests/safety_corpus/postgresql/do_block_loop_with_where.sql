-- expect:
DO $body$
DECLARE
  r record;
  n int := 0;
BEGIN
  <<outer>>
  FOR r IN SELECT id FROM users LOOP
    UPDATE users SET slug = lower(name) WHERE id = r.id;
    n := n + 1;
  END LOOP;
  RAISE NOTICE 'updated % rows; DROP TABLE is not run', n;
EXCEPTION WHEN others THEN
  RAISE;
END
$body$;
