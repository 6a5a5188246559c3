-- expect: mixed_ddl_dml, drop_table, create_index_non_concurrent
ALTER TABLE "website" ADD COLUMN "created_by" UUID, ADD COLUMN "team_id" UUID;
UPDATE "website" SET created_by = user_id WHERE team_id IS NULL;
DROP TABLE "team_website";
CREATE INDEX "website_team_id_idx" ON "website"("team_id");
