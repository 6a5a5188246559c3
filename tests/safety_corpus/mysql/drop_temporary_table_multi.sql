-- expect: drop_table*2
DROP TEMPORARY TABLE IF EXISTS `tmp_a`, tmp_b;
