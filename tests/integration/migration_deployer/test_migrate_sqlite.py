"""Hand-written migrations that naive splitting breaks (SQLite), and what a
failing migration leaves behind where migrations run in a transaction."""

from __future__ import annotations

import pytest
from migration_support import TABLE, applied_names, configure, rows, table_names, write_migrations

from faber_db.exit_codes import ExitStatus

SQLITE_HISTORY = {
    "20240101000000_init": """-- CreateTable
CREATE TABLE "author" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "name" TEXT NOT NULL
);
CREATE TABLE "post" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "author_id" INTEGER NOT NULL REFERENCES "author" ("id") ON DELETE CASCADE,
    "title" TEXT NOT NULL DEFAULT 'untitled; really'
);
CREATE TABLE "audit" ("entry" TEXT NOT NULL);
""",
    "20240102000000_trigger": """/* a trigger body holds semicolons; so does this comment */
CREATE TRIGGER "post_audit" AFTER INSERT ON "post"
BEGIN
    INSERT INTO "audit" ("entry") VALUES ('post;' || NEW."title");
    UPDATE "audit" SET "entry" = "entry" || ';' WHERE "entry" = 'never; matches';
END;
INSERT INTO "author" ("id", "name") VALUES (1, 'O''Brien; Esq. -- not a comment');
INSERT INTO "post" ("author_id", "title") VALUES (1, 'first; post');
""",
    "20240103000000_redefine_author": """-- RedefineTables (what Prisma generates)
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_author" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "name" TEXT NOT NULL,
    "email" TEXT
);
INSERT INTO "new_author" ("id", "name") SELECT "id", "name" FROM "author";
DROP TABLE "author";
ALTER TABLE "new_author" RENAME TO "author";
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;
""",
}
FAILING = {
    "20240101000000_ok": "CREATE TABLE kept (id INTEGER);\n",
    "20240102000000_broken": (
        "CREATE TABLE half (id INTEGER);\n"
        "INSERT INTO half (id) VALUES (1);\n"
        "INSERT INTO no_such_table (id) VALUES (1);\n"
        "CREATE TABLE never (id INTEGER);\n"
    ),
    "20240103000000_after": "CREATE TABLE after_t (id INTEGER);\n",
}


@pytest.mark.parametrize("engine_name", ["sqlite"], indirect=True)
def test_sqlite_triggers_strings_and_table_redefinition(project):
    configure(project, "sqlite")
    write_migrations(project, SQLITE_HISTORY, "sqlite")
    code, out = project.run_json("migrate", "dev")
    assert code == 0, out
    assert applied_names(project.database) == list(SQLITE_HISTORY)
    db = project.database
    assert db.execute('SELECT "entry" FROM "audit"') == [("post;first; post",)]
    assert db.execute('SELECT "name" FROM "author"') == [("O'Brien; Esq. -- not a comment",)]
    # DROP TABLE "author" with foreign keys on would have cascaded into "post".
    assert db.execute('SELECT "title" FROM "post"') == [("first; post",)]
    assert [r["applied_steps_count"] for r in rows(db)] == [1, 1, 1]
    assert all(isinstance(r["started_at"], int) for r in rows(db))  # epoch ms, like Prisma
    assert project.run_json("status", "dev")[0] == ExitStatus.SUCCESS


@pytest.mark.parametrize("engine_name", ["sqlite"], indirect=True)
def test_sqlite_foreign_key_violation_fails_the_migration(project):
    configure(project, "sqlite")
    history = dict(list(SQLITE_HISTORY.items())[:1])
    history["20240104000000_orphan"] = (
        "PRAGMA foreign_keys=OFF;\n"
        'INSERT INTO "post" ("author_id", "title") VALUES (99, \'orphan\');\n'
        "PRAGMA foreign_keys=ON;\n"
    )
    write_migrations(project, history, "sqlite")
    code, out = project.run_json("migrate", "dev")
    assert code == ExitStatus.MIGRATION_FAILED, out
    assert "FOREIGN KEY" in out["message"]
    assert project.database.execute('SELECT COUNT(*) FROM "post"') == [(0,)]


@pytest.mark.parametrize("engine_name", ["sqlite", "postgresql"], indirect=True)
def test_failed_migration_leaves_nothing_half_applied(project):
    config = configure(project, project.database.engine)
    config["environments"]["dev"]["backup_before_migrate"] = True
    project.write_config(config)
    write_migrations(project, FAILING, project.database.engine)
    code, out = project.run_json("migrate", "dev")
    assert code == ExitStatus.MIGRATION_FAILED, out
    result = out["result"]
    rollback = f"faber-db rollback dev --from {result['pre_migration_backup_id']}"
    assert result["rollback_command"] == rollback
    # Its transaction rolled back: marking it rolled back is the repair; restoring the
    # backup would also undo 20240101000000_ok, so it is offered last.
    resolve = "faber-db resolve dev --rolled-back 20240102000000_broken"
    assert out["recovery"]["suggestions"][0].startswith(resolve + "  ")
    assert out["recovery"]["suggestions"][-1].startswith(rollback + "  ")
    assert rollback.split()[-1] in out["message"]
    assert result["failed_migration"] == "20240102000000_broken"
    assert result["migrations_applied"] == ["20240101000000_ok"]
    assert (result["statement"]["number"], result["statement"]["line"]) == (3, 3)
    assert result["left_applied"] == {
        "migrations": ["20240101000000_ok"],
        "statements": [],
        "rolled_back": True,
    }
    assert "no_such_table" in result["statement"]["database_error"]["message"]
    assert table_names(project.database) == {"kept", TABLE}
    (failed,) = [r for r in rows(project.database) if r["migration_name"].endswith("broken")]
    assert failed["finished_at"] is None and failed["rolled_back_at"] is None
    assert failed["applied_steps_count"] == 0 and "no_such_table" in failed["logs"]

    code, refused = project.run_json("migrate", "dev")
    assert code == ExitStatus.MIGRATION_STATE and "20240102000000_broken" in refused["message"]
    assert "after_t" not in table_names(project.database)
    code, resolved = project.run_json(*resolve.split()[1:])
    assert code == 0, resolved


@pytest.mark.parametrize("engine_name", ["postgresql"], indirect=True)
def test_concurrently_runs_outside_a_transaction(project):
    configure(project, "postgresql")
    history = {
        "20240101000000_init": "CREATE TABLE t (id INTEGER, v TEXT);\n",
        "20240102000000_index": (
            "CREATE INDEX CONCURRENTLY t_v ON t (v);\n"
            "CREATE OR REPLACE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END; $$ LANGUAGE plpgsql;\n"
            "DO $$ BEGIN PERFORM f(); END $$;\n"
        ),
    }
    write_migrations(project, history, "postgresql")
    code, dry = project.run_json("migrate", "dev", "--dry-run")
    planned = {m["name"]: m for m in dry["result"]["plan"]["migrations"]}
    assert planned["20240101000000_init"]["transaction"] == "transaction"
    assert planned["20240102000000_index"]["transaction"] == "none"
    assert "CONCURRENTLY" in planned["20240102000000_index"]["no_transaction_reasons"][0]
    assert planned["20240102000000_index"]["statements"] == 3
    code, out = project.run_json("migrate", "dev")
    assert code == 0, out
    assert project.database.execute("SELECT indexname FROM pg_indexes WHERE indexname = 't_v'")
