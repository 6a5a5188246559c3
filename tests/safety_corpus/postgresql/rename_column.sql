-- expect: rename_column
ALTER TABLE "session" RENAME COLUMN "subdivision1" TO "region";
