-- server-version: 11.5
-- expect: alter_type_add_value_in_transaction
ALTER TYPE "Role" ADD VALUE 'AUDITOR';
