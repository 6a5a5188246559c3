-- expect: mysql_blocking_alter
ALTER TABLE t ADD COLUMN c INT, LOCK=SHARED;
