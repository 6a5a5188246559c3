-- expect:
DELETE FROM "Session" WHERE "expiresAt" < CURRENT_TIMESTAMP;
