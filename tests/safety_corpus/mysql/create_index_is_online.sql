-- expect:
CREATE INDEX `website_team_id_idx` ON `website`(`team_id`);
