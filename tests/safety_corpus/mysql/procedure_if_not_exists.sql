-- expect: truncate
CREATE PROCEDURE IF NOT EXISTS reset_stats()
BEGIN
  TRUNCATE stats;
END;
