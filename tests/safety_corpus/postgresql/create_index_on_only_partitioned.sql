-- expect: create_index_non_concurrent
CREATE INDEX IF NOT EXISTS measurements_ts_idx ON ONLY measurements (ts);
