-- expect: delete_without_where
DELETE FROM sessions WHERE 1 = 1;
