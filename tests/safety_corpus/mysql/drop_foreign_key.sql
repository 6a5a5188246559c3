-- expect: drop_foreign_key
ALTER TABLE `orders` DROP FOREIGN KEY `orders_user_id_fkey`;
