-- expect: rename_table
ALTER TABLE users RENAME TO accounts;
