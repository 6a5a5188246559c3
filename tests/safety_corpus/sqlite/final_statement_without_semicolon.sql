-- expect: delete_without_where
DELETE FROM a WHERE id = 1; DELETE FROM b
