-- expect: truncate, truncate_cascade
TRUNCATE TABLE orders CASCADE;
