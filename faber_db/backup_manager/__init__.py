"""The backup-manager skill (skills/backup-manager/SKILL.md): create, verify, list,
delete and prune backups; the catalogue, backup ids and retention."""
