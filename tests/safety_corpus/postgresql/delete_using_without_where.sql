-- expect: delete_without_where
DELETE FROM orders USING customers;
