-- expect: update_without_where
Update `users` set `active` = 1;
