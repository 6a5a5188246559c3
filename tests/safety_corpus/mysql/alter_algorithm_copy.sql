-- expect: mysql_blocking_alter, alter_column_type
ALTER TABLE t ALGORITHM=COPY, MODIFY b BIGINT;
