-- expect:
ALTER TABLE "drop table" ADD COLUMN "delete from" text;
