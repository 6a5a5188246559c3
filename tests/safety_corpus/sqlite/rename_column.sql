-- expect: rename_column
ALTER TABLE "User" RENAME COLUMN "name" TO "fullName";
