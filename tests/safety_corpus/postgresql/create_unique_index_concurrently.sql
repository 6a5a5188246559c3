-- expect: create_unique_index, non_transactional
CREATE UNIQUE INDEX CONCURRENTLY users_email_idx ON users (email);
