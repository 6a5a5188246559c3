-- expect: rename_column
ALTER TABLE users RENAME email TO email_address;
