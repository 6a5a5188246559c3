-- expect: non_transactional
VACUUM ANALYZE events;
