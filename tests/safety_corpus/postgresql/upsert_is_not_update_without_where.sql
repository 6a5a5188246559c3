-- expect:
INSERT INTO counters (name, n) VALUES ('a', 1) ON CONFLICT (name) DO UPDATE SET n = counters.n + 1;
