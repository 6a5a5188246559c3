-- expect: drop_trigger
DROP TRIGGER "audit users";
