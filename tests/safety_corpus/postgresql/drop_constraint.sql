-- expect: drop_constraint
ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_user_fkey;
