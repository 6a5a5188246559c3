-- expect: drop_function*3
DROP FUNCTION IF EXISTS app.touch_updated_at(integer, text);
DROP FUNCTION normalize_email(text), slugify(varchar) CASCADE;
