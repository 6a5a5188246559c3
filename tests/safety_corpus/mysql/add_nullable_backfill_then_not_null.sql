-- expect: mixed_ddl_dml, set_not_null
ALTER TABLE `website_event` ADD COLUMN `visit_id` VARCHAR(36) NULL;
UPDATE `website_event` SET `visit_id` = UUID() WHERE `visit_id` IS NULL;
ALTER TABLE `website_event` MODIFY `visit_id` VARCHAR(36) NOT NULL;
