-- expect: alter_column_type, rename_column, set_not_null
ALTER TABLE `event_data` CHANGE `event_data_type` `data_type` INTEGER UNSIGNED NOT NULL;
