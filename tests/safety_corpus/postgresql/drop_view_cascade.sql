-- expect: drop_view
DROP VIEW IF EXISTS order_summary CASCADE;
