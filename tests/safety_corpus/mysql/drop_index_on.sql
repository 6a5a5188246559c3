-- expect: drop_index
DROP INDEX `session_website_id_created_at_hostname_idx` ON `session`;
