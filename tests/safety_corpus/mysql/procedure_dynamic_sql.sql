-- expect: unparsed
CREATE PROCEDURE drop_it(IN t VARCHAR(64))
BEGIN
  SET @s = CONCAT('DROP TABLE ', t);
  PREPARE stmt FROM @s;
  EXECUTE stmt;
END;
