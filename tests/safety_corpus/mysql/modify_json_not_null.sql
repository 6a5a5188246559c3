-- expect: alter_column_type, set_not_null
ALTER TABLE `report` MODIFY `parameters` JSON NOT NULL;
