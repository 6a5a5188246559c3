-- expect: drop_partition
ALTER TABLE `events` TRUNCATE PARTITION p2019;
