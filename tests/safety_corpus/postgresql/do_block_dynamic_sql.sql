-- expect: unparsed
DO $$ BEGIN EXECUTE 'DROP TABLE ' || quote_ident('old_' || 'users'); END $$;
