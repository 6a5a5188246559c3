-- expect:
WITH moved AS (
  UPDATE orders SET status = 'archived' WHERE created_at < '2020-01-01' RETURNING id
)
SELECT count(*) FROM moved;
