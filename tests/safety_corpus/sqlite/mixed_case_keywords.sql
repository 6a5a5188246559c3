-- expect: drop_table, delete_without_where, mixed_ddl_dml
dElEtE fRoM logs;
Drop Table logs_old;
