-- expect: drop_index
ALTER TABLE `orders` DROP INDEX `orders_user_id_idx`;
