-- expect: drop_event*2
DROP EVENT IF EXISTS purge_sessions;
DROP EVENT `shop`.nightly_rollup;
