-- expect: update_without_where
DELIMITER $$
CREATE PROCEDURE reset_all()
BEGIN
  WHILE (SELECT 1) DO
    UPDATE counters SET n = 0;
  END WHILE;
END$$
DELIMITER ;
