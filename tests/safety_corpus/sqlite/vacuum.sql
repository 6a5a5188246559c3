-- expect: non_transactional
VACUUM;
