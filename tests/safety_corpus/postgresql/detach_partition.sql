-- expect: detach_partition_non_concurrent
ALTER TABLE measurements DETACH PARTITION measurements_2019;
