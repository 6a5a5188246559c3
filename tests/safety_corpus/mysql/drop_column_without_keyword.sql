-- expect: drop_column
ALTER TABLE `t` DROP `legacy`;
