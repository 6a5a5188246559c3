"""`faber-db rollback --strategy down|restore|auto` and the proof of down files in
`check`, on every engine: a rollback by down files keeps the rows written after
the migration in the tables it does not drop, removes what the migration added
and leaves it pending; auto picks restore when a down file is missing; a broken
down file exits 28 and says exactly what stayed applied."""

from __future__ import annotations

import secrets
from pathlib import Path

from migration_support import (
    applied_names,
    configure,
    migrations_dir,
    table_names,
    write_migrations,
)

from faber_db.engines import engine_for
from faber_db.engines.restorer import host_tag
from faber_db.exit_codes import ExitStatus

INIT = "20240101000000_init"
NOTES = "20240102000000_notes"
TAGS = "20240103000000_tags"
HISTORY = {
    INIT: "CREATE TABLE account (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL);\n",
    NOTES: (
        "CREATE TABLE note (id INTEGER PRIMARY KEY, body VARCHAR(100));\n"
        "ALTER TABLE account ADD COLUMN email VARCHAR(200);\n"
    ),
}
DEAD_PID = 4194303  # above any pid this machine has handed out
NOTES_DOWN = "DROP TABLE note;\nALTER TABLE account DROP COLUMN email;\n"


def _setup(project, history=HISTORY, downs=None):
    """Migrate INIT, take a backup with two accounts, then migrate the rest."""
    engine = project.database.engine
    configure(project, engine)
    directory = write_migrations(project, {INIT: history[INIT]}, engine)
    assert project.run_json("migrate", "dev", "--yes")[0] == 0
    project.database.execute("INSERT INTO account (id, name) VALUES (1, 'old1')")
    project.database.execute("INSERT INTO account (id, name) VALUES (2, 'old2')")
    code, out = project.run_json("backup", "dev")
    assert code == 0, out
    write_migrations(project, history, engine)
    for name, sql in (downs or {}).items():
        (directory / name / "down.sql").write_text(sql)
    code, out = project.run_json("migrate", "dev", "--yes")
    assert code == 0, out
    return directory


def _columns(database, table: str) -> set[str]:
    if database.engine == "sqlite":
        return {row[1] for row in database.execute(f"PRAGMA table_info({table})")}
    schema = "DATABASE()" if database.engine == "mysql" else "'public'"
    return {
        row[0]
        for row in database.execute(
            "SELECT column_name FROM information_schema.columns"
            f" WHERE table_schema = {schema} AND table_name = '{table}'"
        )
    }


def test_rollback_by_down_keeps_later_rows_and_leaves_the_migration_pending(project):
    database = project.database
    _setup(project, downs={NOTES: NOTES_DOWN})
    for i, email in ((3, "'c@x'"), (4, "NULL"), (5, "NULL")):
        database.execute(f"INSERT INTO account (id, name, email) VALUES ({i}, 'new{i}', {email})")

    code, out = project.run_json("rollback", "dev", "--to", INIT, "--dry-run")

    assert code == 0 and out["status"] == "dry_run", out
    strategies = out["result"]["strategies"]
    assert strategies["chosen"] == "down", strategies
    assert strategies["restore"]["rows_lost"] == 3  # accounts 3-5, written since the backup
    assert strategies["down"]["rows_lost"] == 1  # the one email value
    assert out["result"]["plan"]["strategy"] == "down"
    dry_plan = out["result"]["plan_id"]
    text = project.run("rollback", "dev", "--to", INIT, "--dry-run").stdout
    assert "STRATEGY" in text and "chosen: down" in text and NOTES in text, text

    code, out = project.run_json("rollback", "dev", "--to", INIT, "--yes")

    assert code == 0, out
    assert out["result"]["plan_id"] == dry_plan
    assert out["result"]["strategy"] == "down"
    assert out["result"]["migrations_rolled_back"] == [NOTES]
    assert out["result"]["safety_backup_id"]
    implicit = [w for w in out["warnings"] if "commits DDL implicitly" in w]
    assert bool(implicit) == (database.engine == "mysql"), out["warnings"]
    assert sorted(r[0] for r in database.execute("SELECT id FROM account")) == [1, 2, 3, 4, 5]
    assert "note" not in table_names(database)
    assert _columns(database, "account") == {"id", "name"}
    assert applied_names(database) == [INIT]
    code, out = project.run_json("status", "dev")
    assert code == ExitStatus.MIGRATIONS_PENDING and out["result"]["pending"] == [NOTES], out
    code, out = project.run_json("migrate", "dev", "--yes")
    assert code == 0 and out["result"]["migrations_applied"] == [NOTES], out
    assert "note" in table_names(database) and "email" in _columns(database, "account")


def test_auto_picks_restore_when_a_down_file_is_missing(project):
    history = HISTORY | {TAGS: "CREATE TABLE tag (id INTEGER PRIMARY KEY);\n"}
    _setup(project, history, downs={NOTES: NOTES_DOWN})

    code, out = project.run_json("rollback", "dev", "--to", INIT, "--dry-run")

    assert code == 0, out
    strategies = out["result"]["strategies"]
    assert strategies["chosen"] == "restore"
    assert strategies["down"]["missing_down_files"] == [TAGS]
    assert TAGS in strategies["why"]
    assert out["result"]["plan"]["strategy"] == "restore"
    assert out["result"]["migrations_to_remove"] == [NOTES, TAGS]
    code, out = project.run_json("rollback", "dev", "--to", INIT, "--strategy", "down", "--dry-run")
    assert code == ExitStatus.USAGE and TAGS in out["error"]["message"], out


def test_a_broken_down_file_exits_28_and_names_what_stayed(project):
    database = project.database
    history = HISTORY | {TAGS: "CREATE TABLE tag (id INTEGER PRIMARY KEY);\n"}
    broken = "DROP TABLE note;\nALTER TABLE no_such_table DROP COLUMN email;\n"
    _setup(project, history, downs={NOTES: broken, TAGS: "DROP TABLE tag;\n"})

    code, out = project.run_json("rollback", "dev", "--to", INIT, "--strategy", "down", "--yes")

    assert code == ExitStatus.DOWN_MIGRATION_FAILED == 28, out
    assert out["error"]["code"] == "down_migration_failed"
    result = out["result"]
    assert [u["name"] for u in result["undone"]] == [TAGS]
    assert result["failed_migration"] == NOTES
    assert result["left_applied"]["migrations"] == [NOTES]
    assert result["statement"]["number"] == 2
    assert result["safety_backup_id"]
    assert any(result["safety_backup_id"] in s for s in out["recovery"]["suggestions"])
    assert applied_names(database) == [INIT, NOTES]
    assert "tag" not in table_names(database)
    if database.engine == "mysql":  # DDL committed itself: said so
        assert result["left_applied"]["down_statements_committed"] == 1
        assert "had committed" in out["message"]
        assert "note" not in table_names(database)
    else:
        assert result["left_applied"]["rolled_back"] is True
        assert "note" in table_names(database)


def test_check_proves_down_files_on_a_scratch_database(project):
    incomplete = "DROP TABLE note;\n"  # forgets the email column
    directory = _setup(project, downs={NOTES: NOTES_DOWN})
    abandoned = _abandoned_scratch(project)  # as a killed check leaves it

    code, out = project.run_json("check", "dev")

    assert code == 0, out
    downs = out["result"]["down_files"]
    assert downs["proof"]["proven"] == [NOTES] and downs["proof"]["failed"] == []
    assert [Path(n).name for n in downs["proof"]["cleaned_up"]] == [Path(abandoned).name]
    assert {f["rule"] for f in downs["findings"]} >= {"drop_table", "drop_column"}
    scratch = downs["proof"]["scratch_database"]
    assert "faber_downcheck_" in scratch

    (directory / NOTES / "down.sql").write_text(incomplete)
    code, out = project.run_json("status", "dev")  # down.sql is outside the checksum
    assert code == 0 and out["result"]["modified"] == [], out
    assert out["result"]["down_files"] == [NOTES]
    code, out = project.run_json("check", "dev")

    assert code == 0, out
    downs = out["result"]["down_files"]
    assert downs["proof"]["failed"] == [f"{NOTES}/down.sql"]
    danger = [f for f in downs["findings"] if f["rule"] == "down_does_not_restore_schema"]
    assert len(danger) == 1 and danger[0]["severity"] == "danger"
    assert "email" in danger[0]["message"]
    assert "NOT restore" in out["message"]
    assert not _scratch_left(project, scratch)


def _abandoned_scratch(project) -> str:
    """A scratch database of a dead process on this machine."""
    name = f"faber_downcheck_{DEAD_PID}_{host_tag()}{secrets.token_hex(4)}"
    engine = engine_for(project.database.conn)
    if project.database.engine == "sqlite":
        path = project.config_dir / "state" / "scratch" / f"{name}.db"
        engine.create_database(str(path))
        return str(path)
    engine.create_database(name)
    return name


def _scratch_left(project, scratch: str) -> bool:
    database = project.database
    if database.engine == "sqlite":
        return any(project.root.rglob("faber_downcheck_*"))
    if database.engine == "mysql":
        sql = "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 'faber_downcheck_%'"
    else:
        sql = "SELECT datname FROM pg_database WHERE datname LIKE 'faber_downcheck_%'"
    return any(row[0] == scratch for row in database.execute(sql))


def test_a_protected_rollback_by_down_runs_only_the_approved_plan(project):
    database = project.database
    _setup(project, downs={NOTES: NOTES_DOWN})
    configure(project, database.engine, safety={"protected_environments": ["dev"]})
    back = ("rollback", "dev", "--to", INIT, "--strategy", "down")

    code, out = project.run_json(*back)

    assert code == ExitStatus.APPROVAL_REQUIRED, out
    plan = out["result"]["plan"]
    assert plan["strategy"] == "down" and plan["migrations_to_undo"][0]["down_sha256"]
    assert applied_names(database) == [INIT, NOTES]
    approved = out["result"]["plan_id"]
    down = migrations_dir(project) / NOTES / "down.sql"
    down.write_text("DROP TABLE note;\n")  # edited after approval: another plan
    code, out = project.run_json(*back, "--approve", approved)
    assert code == ExitStatus.APPROVAL_REQUIRED and out["result"]["plan_id"] != approved, out
    assert applied_names(database) == [INIT, NOTES]
    down.write_text(NOTES_DOWN)
    code, out = project.run_json(*back, "--approve", approved)
    assert code == 0 and out["result"]["migrations_rolled_back"] == [NOTES], out
    assert applied_names(database) == [INIT]
