-- expect: create_unique_index
CREATE UNIQUE INDEX `users_email_key` ON `users`(`email`);
