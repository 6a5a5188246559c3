-- expect: mixed_ddl_dml, drop_table
ALTER TABLE `website` ADD COLUMN `created_by` VARCHAR(36) NULL,
    ADD COLUMN `team_id` VARCHAR(36) NULL;
UPDATE `website` SET created_by = user_id WHERE team_id IS NULL;
DROP TABLE `team_website`;
CREATE INDEX `website_team_id_idx` ON `website`(`team_id`);
