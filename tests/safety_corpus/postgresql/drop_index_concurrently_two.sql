-- expect: drop_index*2, non_transactional
DROP INDEX CONCURRENTLY IF EXISTS a_idx, b_idx;
