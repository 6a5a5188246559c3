-- expect: unparsed
ALTER SEQUENCE users_id_seq RESTART WITH 1;
