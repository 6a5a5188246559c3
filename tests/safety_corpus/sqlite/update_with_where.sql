-- expect:
UPDATE "Post" SET "published" = 1 WHERE "id" IN (SELECT "postId" FROM "Review" WHERE "ok" = 1);
