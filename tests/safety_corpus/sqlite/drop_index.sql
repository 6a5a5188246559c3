-- expect: drop_index
DROP INDEX IF EXISTS "Post_authorId_idx";
