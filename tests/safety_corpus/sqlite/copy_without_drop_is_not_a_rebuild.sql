-- expect: mixed_ddl_dml
CREATE TABLE "archive" ("id" INTEGER);
INSERT INTO "archive" ("id") SELECT "id" FROM "User";
