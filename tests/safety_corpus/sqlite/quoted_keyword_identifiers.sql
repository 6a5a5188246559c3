-- expect:
CREATE TABLE "drop" ("delete" TEXT, [update] TEXT);
INSERT INTO "drop" ("delete") VALUES ('truncate');
