-- expect: drop_constraint
ALTER TABLE `t` DROP PRIMARY KEY;
