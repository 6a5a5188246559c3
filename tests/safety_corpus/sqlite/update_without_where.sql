-- expect: update_without_where
UPDATE "Post" SET "published" = 1;
