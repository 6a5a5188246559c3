-- expect: update_without_where
WITH moved AS (UPDATE orders SET status = 'archived' RETURNING id)
SELECT count(*) FROM moved;
