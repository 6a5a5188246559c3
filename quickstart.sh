#!/usr/bin/env bash
# faber-db end to end on an embedded SQLite database: nothing to install but Python.
#
# In a throwaway project it runs the whole loop a team lives by: init, create the
# database, write and deploy migrations, take a verified backup, deploy a
# destructive migration (after the safety check flags it), roll back by restoring
# the backup, and verify the audit trail. Every step prints what it did.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
faber() { echo; echo "\$ faber-db $*"; "$REPO/bin/faber-db" "$@"; }
sql() { python3 -c 'import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); rows = db.execute(sys.argv[2]).fetchall(); db.commit(); [print("   ", r) for r in rows]' "$PROJECT/dev.db" "$1"; }

PROJECT=$(mktemp -d "${TMPDIR:-/tmp}/faber-db-quickstart.XXXXXX")
cd "$PROJECT"
echo "Project: $PROJECT (delete it when you are done)"
unset DEV_DATABASE_URL

faber init
faber db-create dev

cat >users.sql <<'SQL'
CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT, notes TEXT);
SQL
faber generate-migration create_users --from-file users.sql
faber migrate dev
sql "INSERT INTO users (email, name, notes) VALUES ('ada@example.com', 'Ada', 'first; user'), ('alan@example.com', 'Alan', NULL)"
echo "   rows now:"; sql "SELECT id, email, name, notes FROM users"

faber backup dev --label before-cleanup

cat >cleanup.sql <<'SQL'
ALTER TABLE users DROP COLUMN notes;
DELETE FROM users;
SQL
faber generate-migration drop_notes --from-file cleanup.sql
faber check dev || true
faber migrate dev
echo "   rows after the destructive migration:"; sql "SELECT * FROM users"

faber rollback dev --dry-run
faber rollback dev --yes   # at a terminal it would ask you to type "dev"; --yes answers for you
echo "   rows after rollback:"; sql "SELECT id, email, name, notes FROM users"
faber status dev || true

faber backups list dev
faber audit --verify
echo
echo "Done. faber-db restored the data and the schema; the rolled-back migration is pending again."
