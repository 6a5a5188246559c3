-- expect: unparsed
ALTER DOMAIN positive_int ADD CONSTRAINT positive_check CHECK (VALUE > 0);
