-- expect: drop_trigger
DROP TRIGGER IF EXISTS set_updated_at ON "User";
