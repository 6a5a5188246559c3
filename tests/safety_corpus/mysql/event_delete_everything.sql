-- expect: delete_without_where
CREATE EVENT purge_sessions ON SCHEDULE EVERY 1 DAY DO DELETE FROM sessions;
