-- expect: drop_column*2
ALTER TABLE `session` DROP COLUMN `subdivision2`, DROP COLUMN `hostname`;
