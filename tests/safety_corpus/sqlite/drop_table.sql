-- expect: drop_table
DROP TABLE "User";
