-- expect: drop_column
ALTER TABLE "User" DROP COLUMN "legacyId";
