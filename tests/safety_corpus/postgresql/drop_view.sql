-- expect: drop_view*2
DROP VIEW active_users;
DROP VIEW IF EXISTS reporting."Daily Totals";
