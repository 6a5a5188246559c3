-- expect:
CREATE TABLE `tags` (`id` INT NOT NULL, `name` VARCHAR(10) NULL);
ALTER TABLE `tags` MODIFY `name` VARCHAR(20) NOT NULL;
ALTER TABLE `tags` ADD UNIQUE INDEX `tags_name_key` (`name`);
