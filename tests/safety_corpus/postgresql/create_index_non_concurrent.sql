-- expect: create_index_non_concurrent
CREATE INDEX users_created_idx ON users (created_at);
