-- server-version: 14
-- expect:
ALTER TYPE "Role" ADD VALUE IF NOT EXISTS 'AUDITOR';
