-- expect: drop_database
DROP DATABASE IF EXISTS `legacy`;
