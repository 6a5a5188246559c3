-- expect: drop_schema
DROP SCHEMA analytics CASCADE;
