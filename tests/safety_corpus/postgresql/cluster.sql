-- expect: vacuum_full_or_cluster
CLUSTER events USING events_pkey;
