-- expect: add_primary_key
ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY (id);
