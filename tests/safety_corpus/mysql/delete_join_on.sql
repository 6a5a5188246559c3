-- expect:
DELETE s FROM `sessions` s JOIN `users` u ON u.id = s.user_id;
