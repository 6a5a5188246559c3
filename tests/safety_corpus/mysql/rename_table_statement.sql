-- expect: rename_table*2
RENAME TABLE `a` TO `b`, `c` TO `d`;
