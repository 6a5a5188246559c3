-- expect: add_not_null_without_default
ALTER TABLE `users` ADD COLUMN `tenant_id` VARCHAR(36) NOT NULL;
