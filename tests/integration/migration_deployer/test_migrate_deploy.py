"""`faber-db migrate` on every engine: locking, refusals, approval, dry runs,
pre-migration backups, and databases Prisma migrated first."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from migration_support import (
    SIMPLE,
    TABLE,
    applied_names,
    configure,
    rows,
    table_names,
    write_migrations,
)

from faber_db.engines import engine_for
from faber_db.exit_codes import ExitStatus
from faber_db.migration_deployer.prisma_layout import checksum

MANY = {
    f"2024020100{i:04d}_t{i}": f"CREATE TABLE t{i} (id INTEGER PRIMARY KEY, v VARCHAR(20));\n"
    f"INSERT INTO t{i} (id, v) VALUES (1, 'x;y');\n"
    for i in range(25)
}
# Prisma's own DDL, written out independently of faber_db's engines.
PRISMA_DDL = {
    "postgresql": """CREATE TABLE "_prisma_migrations" (
    "id" VARCHAR(36) PRIMARY KEY NOT NULL, "checksum" VARCHAR(64) NOT NULL,
    "finished_at" TIMESTAMPTZ, "migration_name" VARCHAR(255) NOT NULL, "logs" TEXT,
    "rolled_back_at" TIMESTAMPTZ, "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count" INTEGER NOT NULL DEFAULT 0)""",
    "mysql": """CREATE TABLE _prisma_migrations (
    id VARCHAR(36) PRIMARY KEY NOT NULL, checksum VARCHAR(64) NOT NULL,
    finished_at DATETIME(3), migration_name VARCHAR(255) NOT NULL, logs TEXT,
    rolled_back_at DATETIME(3), started_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    applied_steps_count INTEGER UNSIGNED NOT NULL DEFAULT 0
    ) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci""",
    "sqlite": """CREATE TABLE "_prisma_migrations" (
    "id" TEXT PRIMARY KEY NOT NULL, "checksum" TEXT NOT NULL, "finished_at" DATETIME,
    "migration_name" TEXT NOT NULL, "logs" TEXT, "rolled_back_at" DATETIME,
    "started_at" DATETIME NOT NULL DEFAULT current_timestamp,
    "applied_steps_count" INTEGER UNSIGNED NOT NULL DEFAULT 0)""",
}
PRISMA_NOW = {
    "postgresql": "now()",
    "mysql": "CURRENT_TIMESTAMP(3)",
    "sqlite": "CAST(strftime('%s','now') AS INTEGER) * 1000",  # quaint binds epoch ms
}


def simple_project(project, history=SIMPLE, **config):
    """Configure the project for its engine and write `history`; return the directory."""
    configure(project, project.database.engine, **config)
    return write_migrations(project, history, project.database.engine)


def test_migrate_applies_and_status_is_up_to_date(project):
    simple_project(project)
    code, out = project.run_json("migrate", "dev")
    assert code == 0, out
    assert out["result"]["migrations_applied"] == list(SIMPLE)
    assert out["result"]["plan_id"].startswith("plan-")
    assert out["result"]["pre_migration_backup_id"] is None
    assert project.database.execute("SELECT name FROM account WHERE id = 1") == [
        ("semi;colon -- not a comment",)
    ]
    assert project.run_json("status", "dev")[0] == ExitStatus.SUCCESS


def test_two_concurrent_deploys_apply_each_migration_once(project):
    configure(project, project.database.engine)
    write_migrations(project, MANY, project.database.engine)
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "faber_db", "migrate", "dev", "--json"],
            cwd=project.root,
            env={**os.environ, **project.env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    counts = sorted(len(json.loads(out)["result"]["migrations_applied"]) for out, _ in outputs)
    assert counts == [0, len(MANY)]
    assert sorted(applied_names(project.database)) == sorted(MANY)
    assert len(rows(project.database)) == len(MANY)
    assert all(project.database.execute(f"SELECT COUNT(*) FROM t{i}") == [(1,)] for i in (0, 24))


def test_held_lock_times_out_and_changes_nothing(project):
    simple_project(project, migrations={"lock_timeout_seconds": 1})
    engine = engine_for(project.database.conn)
    with engine.session() as db, engine.deploy_lock(db, 5):
        code, out = project.run_json("migrate", "dev")
    assert code == ExitStatus.LOCK_TIMEOUT, out
    assert "Nothing was changed" in out["message"]
    assert TABLE not in table_names(project.database)


def test_edited_applied_migration_is_refused(project):
    directory = simple_project(project)
    assert project.run_json("migrate", "dev")[0] == 0
    write_migrations(project, {"20240104000000_more": "CREATE TABLE more_t (id INTEGER);\n"}, None)
    edited = directory / "20240102000000_add_email" / "migration.sql"
    edited.write_text(edited.read_text() + "-- tweaked\n")
    code, out = project.run_json("migrate", "dev")
    assert code == ExitStatus.MIGRATION_STATE, out
    assert "20240102000000_add_email" in out["message"]
    assert "more_t" not in table_names(project.database)
    code, status = project.run_json("status", "dev")
    assert code == ExitStatus.MIGRATION_STATE
    assert status["result"]["modified"] == ["20240102000000_add_email"]


def test_crlf_checkout_still_matches(project):
    directory = simple_project(project)
    assert project.run_json("migrate", "dev")[0] == 0
    for name in SIMPLE:
        path = directory / name / "migration.sql"
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    code, status = project.run_json("status", "dev")
    assert code == ExitStatus.SUCCESS, status
    code, out = project.run_json("migrate", "dev")
    assert code == 0 and out["result"]["migrations_applied"] == []


def test_database_migrated_by_prisma_is_recognised(project):
    engine = project.database.engine
    directory = simple_project(project)
    statements = [PRISMA_DDL[engine]]
    for name, sql in SIMPLE.items():
        statements += [s for s in sql.split(";\n") if s.strip()]
        statements.append(
            f"INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name,"
            f" started_at, applied_steps_count) VALUES ('{name}-id',"
            f" '{checksum((directory / name / 'migration.sql').read_bytes())}',"
            f" {PRISMA_NOW[engine]}, '{name}', {PRISMA_NOW[engine]}, 1)"
        )
    project.database.script(statements)
    code, status = project.run_json("status", "dev")
    assert code == ExitStatus.SUCCESS, status
    assert status["result"]["applied"] == list(SIMPLE)
    code, out = project.run_json("migrate", "dev")
    assert code == 0 and out["result"]["migrations_applied"] == [], out
    assert len(rows(project.database)) == 3


def test_dry_run_changes_nothing(project):
    simple_project(project)
    code, out = project.run_json("migrate", "dev", "--dry-run")
    assert code == 0 and out["status"] == "dry_run", out
    plan = out["result"]["plan"]
    assert [m["name"] for m in plan["migrations"]] == list(SIMPLE)
    assert plan["create_tracking_table"] is True and plan["backup"]["take"] is False
    assert out["result"]["plan_id"] == plan["plan_id"]
    assert table_names(project.database) == set()


def test_protected_environment_needs_approval_of_the_plan(project, tmp_path):
    simple_project(project)
    config = configure(project, project.database.engine)
    config["environments"]["production"] = {"connection_string_env": "FABER_TEST_DEV_URL"}
    project.write_config(config)
    code, dry = project.run_json("migrate", "production", "--dry-run")
    code, out = project.run_json("migrate", "production", "--yes")
    assert code == ExitStatus.APPROVAL_REQUIRED and out["status"] == "approval_required", out
    assert out["result"]["plan_id"] == dry["result"]["plan_id"]
    assert out["result"]["plan"]["backup"]["take"] is True  # production requires one
    assert table_names(project.database) == set()
    assert project.catalogue()["backups"] == []

    code, done = project.run_json("migrate", "production", "--approve", out["result"]["plan_id"])
    assert code == 0, done
    assert done["result"]["migrations_applied"] == list(SIMPLE)
    assert done["result"]["pre_migration_backup_id"]


def test_no_backup_is_refused_where_required(project):
    simple_project(project, safety={"backup_enforcement": {"dev": "required"}})
    code, out = project.run_json("migrate", "dev", "--no-backup")
    assert code == ExitStatus.BLOCKED_BY_POLICY, out
    assert table_names(project.database) == set()


def test_pre_migration_backup_records_the_state_before(project):
    first = dict(list(SIMPLE.items())[:1])
    simple_project(project, first)
    assert project.run_json("migrate", "dev")[0] == 0
    write_migrations(project, SIMPLE, None)
    config = configure(project, project.database.engine)
    config["environments"]["dev"]["backup_before_migrate"] = True
    project.write_config(config)

    code, out = project.run_json("migrate", "dev")
    assert code == 0, out
    assert out["result"]["migrations_applied"] == list(SIMPLE)[1:]
    backup_id = out["result"]["pre_migration_backup_id"]
    (entry,) = project.catalogue()["backups"]
    assert entry["id"] == backup_id and entry["reason"] == "pre-migration"
    assert entry["migrations"]["applied_count"] == 1
    assert entry["migrations"]["migrations_list"] == list(first)
    code, verified = project.run_json("backups", "verify", backup_id)
    assert code == 0, verified
    code, status = project.run_json("status", "dev")
    assert status["result"]["last_backup"]["backup_id"] == backup_id


def test_non_empty_database_without_table_is_refused(project):
    simple_project(project)
    project.database.script(["CREATE TABLE legacy (id INTEGER)"])
    code, out = project.run_json("migrate", "dev")
    assert code == ExitStatus.MIGRATION_STATE, out
    assert "P3005" in out["message"] and "legacy" in out["message"]
    assert "faber-db resolve dev --applied 20240101000000_init" in out["recovery"]["suggestions"]
    assert TABLE not in table_names(project.database)


def test_provider_mismatch_is_refused(project):
    other = {"sqlite": "postgresql", "postgresql": "mysql", "mysql": "sqlite"}
    configure(project, project.database.engine)
    write_migrations(project, SIMPLE, other[project.database.engine])
    code, out = project.run_json("migrate", "dev")
    assert code == ExitStatus.MIGRATION_STATE and "P3019" in out["message"], out
    code, status = project.run_json("status", "dev")
    assert code == ExitStatus.MIGRATION_STATE
    assert status["result"]["provider"]["matches"] is False


def test_auto_rollback_restores_the_pre_migration_backup(project):
    simple_project(project)
    assert project.run_json("migrate", "dev")[0] == 0
    broken = {
        "20240105000000_broken": (
            "CREATE TABLE partial_t (id INTEGER);\nINSERT INTO no_such_table VALUES (1);\n"
        )
    }
    write_migrations(project, broken, None)
    code, out = project.run_json("migrate", "dev", "--auto-rollback")
    assert code == ExitStatus.MIGRATION_FAILED, out
    result = out["result"]
    assert result["failed_migration"] == "20240105000000_broken"
    assert result["pre_migration_backup_id"]
    assert result["auto_rollback"]["succeeded"] is True, result["auto_rollback"]
    assert "restored automatically" in out["message"]
    assert "partial_t" not in table_names(project.database)
    assert applied_names(project.database) == list(SIMPLE)
    assert len(rows(project.database)) == len(SIMPLE)  # the failed row went with the restore
    code, status = project.run_json("status", "dev")
    assert code == ExitStatus.MIGRATIONS_PENDING and status["result"]["failed"] == []
    # Nothing is left to resolve: no suggestion may lead to a command that fails (P3011).
    suggestions = out["recovery"]["suggestions"]
    assert suggestions[0] == "faber-db status dev"
    assert not any("resolve" in s or "rollback" in s for s in suggestions), suggestions
