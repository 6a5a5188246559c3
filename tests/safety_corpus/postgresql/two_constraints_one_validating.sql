-- expect: add_check_constraint
ALTER TABLE orders
  ADD CONSTRAINT orders_user_fkey FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID,
  ADD CONSTRAINT orders_total_positive CHECK (total >= 0);
