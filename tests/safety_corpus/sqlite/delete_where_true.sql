-- expect: delete_without_where
DELETE FROM logs WHERE 1;
