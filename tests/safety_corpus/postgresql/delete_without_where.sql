-- expect: delete_without_where
DELETE FROM sessions;
