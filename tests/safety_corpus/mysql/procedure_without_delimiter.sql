-- expect: delete_without_where, drop_table
CREATE PROCEDURE purge()
BEGIN
  DECLARE done INT DEFAULT 0;
  DECLARE CONTINUE HANDLER FOR NOT FOUND SET done = 1;
  IF (SELECT COUNT(*) FROM jobs) > 0 THEN
    DELETE FROM jobs;
  END IF;
  lbl: LOOP
    LEAVE lbl;
  END LOOP lbl;
  DROP TABLE IF EXISTS scratch;
END;
SELECT 1;
