-- expect: add_check_constraint
ALTER TABLE `orders` ADD CONSTRAINT `total_positive` CHECK (`total` >= 0);
