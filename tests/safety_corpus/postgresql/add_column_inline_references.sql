-- expect: add_foreign_key
ALTER TABLE orders ADD COLUMN coupon_id int REFERENCES coupons (id);
