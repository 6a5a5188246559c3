-- expect: rename_column
ALTER TABLE `event_data` RENAME COLUMN `event_key` TO `data_key`;
