-- expect:
-- DROP VIEW active_users;
/* DROP TYPE "Mood"; DROP FUNCTION f(); */
SELECT 'DROP TRIGGER t ON users', 'DROP SEQUENCE s';
