"""The migration-deployer skill (skills/migration-deployer/SKILL.md): deploy, plan,
apply, rehearsal (migrate --rehearse), history and status, resolve, the tracking
table, generate-migration, the Prisma migrations layout and the statement runner."""
