-- expect: non_transactional
REINDEX INDEX CONCURRENTLY events_pkey;
