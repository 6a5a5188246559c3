-- expect: add_unique_constraint
ALTER TABLE `users` ADD UNIQUE INDEX `users_email_key` (`email`);
