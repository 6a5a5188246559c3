-- expect: drop_index
DROP INDEX users_created_idx;
