-- expect: delete_without_where
DELETE FROM "Session";
