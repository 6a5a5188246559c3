-- expect: rename_table
ALTER TABLE "User" RENAME TO "Account";
