-- expect: drop_partition
ALTER TABLE `events` DROP PARTITION p2019, p2020;
