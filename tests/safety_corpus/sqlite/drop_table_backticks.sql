-- expect: drop_table
DROP TABLE `legacy`;
