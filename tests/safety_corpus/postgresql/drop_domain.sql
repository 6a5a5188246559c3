-- expect: drop_type
DROP DOMAIN IF EXISTS email_address RESTRICT;
