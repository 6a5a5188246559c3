-- expect: drop_type*2
DROP TYPE "Mood";
DROP TYPE IF EXISTS order_status CASCADE;
