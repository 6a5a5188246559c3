-- expect: drop_view
DROP VIEW IF EXISTS main.active_users;
