-- expect: delete_without_where
CREATE PROCEDURE purge(IN days INT) COMMENT 'purge; all' MODIFIES SQL DATA DELETE FROM sessions;
