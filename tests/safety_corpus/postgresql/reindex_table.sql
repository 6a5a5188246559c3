-- expect: reindex_non_concurrent
REINDEX TABLE events;
