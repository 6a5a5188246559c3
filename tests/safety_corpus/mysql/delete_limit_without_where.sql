-- expect: delete_without_where
DELETE FROM `sessions` ORDER BY id LIMIT 1000;
