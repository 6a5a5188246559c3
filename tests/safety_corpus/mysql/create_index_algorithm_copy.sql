-- expect: mysql_blocking_alter
CREATE INDEX i ON t (c) ALGORITHM=COPY;
