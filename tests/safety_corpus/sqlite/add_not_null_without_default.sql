-- expect: add_not_null_without_default
ALTER TABLE "User" ADD COLUMN "role" TEXT NOT NULL;
