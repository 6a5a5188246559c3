-- expect:
-- DROP TABLE "User";
/* DELETE FROM "User"; */
INSERT INTO notes (body) VALUES ('DROP TABLE x; DELETE FROM y');
