-- expect: drop_view*2
DROP VIEW IF EXISTS active_users, `order totals`;
