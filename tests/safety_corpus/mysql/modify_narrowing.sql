-- expect: alter_column_type
ALTER TABLE `users` MODIFY `name` VARCHAR(50) NULL;
