-- expect: add_unique_constraint
ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);
