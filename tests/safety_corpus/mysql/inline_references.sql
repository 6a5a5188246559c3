-- expect: inline_references_ignored
ALTER TABLE `orders` ADD COLUMN `coupon_id` INT NULL REFERENCES `coupons`(`id`);
