-- expect: vacuum_full_or_cluster, non_transactional
VACUUM (FULL, ANALYZE) events;
