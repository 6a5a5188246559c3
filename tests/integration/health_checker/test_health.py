"""`faber-db health` on real databases (issue 15, part B): a fresh project is all ok,
and each broken thing makes the right check warn or fail."""

from __future__ import annotations

import json
import os
from datetime import timedelta

import pytest
from migration_support import SIMPLE, applied_names, configure, write_migrations

from faber_db.exit_codes import ExitStatus
from faber_db.timeutil import format_utc, utcnow

ALL_CHECKS = [
    "connection",
    "server_version",
    "backup_tools",
    "migrations",
    "drift",
    "disk_space",
    "blockers",
    "size",
    "backup_age",
    "backup_files",
]


def migrated(project, **config) -> None:
    """The SIMPLE history applied and one backup taken."""
    configure(project, project.database.engine, **config)
    write_migrations(project, SIMPLE, project.database.engine)
    code, out = project.run_json("migrate", "dev")
    assert code == 0, out
    code, out = project.run_json("backup", "dev")
    assert code == 0, out


def checks(out: dict) -> dict[str, dict]:
    """The report's checks by name."""
    return {c["name"]: c for c in out["result"]["checks"]}


def edit_catalogue(project, change) -> None:
    """Apply change(entry) to every entry of backups.json."""
    data = project.catalogue()
    for entry in data["backups"]:
        change(entry)
    project.catalogue_path.write_text(json.dumps(data, indent=2))


def test_fresh_project_is_all_ok(project):
    migrated(project)
    code, out = project.run_json("health", "dev")
    assert code == ExitStatus.SUCCESS, out
    assert out["status"] == "success" and out["result"]["status"] == "ok"
    found = checks(out)
    assert list(found) == ALL_CHECKS
    assert {c["status"] for c in found.values()} == {"ok"}, found
    assert found["migrations"]["detail"] == "up to date (3 applied)"
    assert found["connection"]["data"]["round_trip_ms"] >= 0
    assert found["size"]["data"]["database_bytes"] >= 0
    state = json.loads((project.config_dir / "state" / "health" / "dev.json").read_text())
    assert set(state) == {"environment", "checked_at", "status", "checks"}
    assert state["status"] == "ok" and state["environment"] == "dev"
    assert [set(c) for c in state["checks"]] == [{"name", "status", "detail", "fix"}] * len(
        ALL_CHECKS
    )


def test_unfinished_migration_row_fails(project):
    migrated(project)
    project.database.execute(
        "UPDATE _prisma_migrations SET finished_at = NULL WHERE migration_name = %s"
        if project.database.engine != "sqlite"
        else "UPDATE _prisma_migrations SET finished_at = NULL WHERE migration_name = ?",
        ("20240103000000_seed",),
    )
    code, out = project.run_json("health", "dev", "--no-drift")
    assert code == ExitStatus.HEALTH_FAILED, out
    assert out["status"] == "error" and out["error"]["code"] == "health_failed"
    migrations = checks(out)["migrations"]
    assert migrations["status"] == "fail"
    assert "20240103000000_seed is unfinished" in migrations["detail"]
    assert migrations["fix"].startswith("faber-db resolve dev --rolled-back 20240103000000_seed")
    assert "drift" not in checks(out) and out["result"]["drift_checked"] is False


@pytest.mark.parametrize("engine_name", ["sqlite"], indirect=True)
def test_pending_migrations_warn_and_exit_zero(project):
    configure(project, "sqlite")
    write_migrations(project, SIMPLE, "sqlite")
    code, out = project.run_json("health", "dev", "--no-drift")
    assert code == ExitStatus.SUCCESS, out
    assert out["result"]["status"] == "warn"
    assert checks(out)["migrations"] == {
        "name": "migrations",
        "status": "warn",
        "detail": "3 pending (0 applied)",
        "fix": "faber-db migrate dev",
        "data": {
            "applied": 0,
            "pending": list(SIMPLE),
            "failed": [],
            "modified": [],
            "missing_from_directory": [],
        },
    }
    assert "faber-db migrate dev" in out["recovery"]["suggestions"]


@pytest.mark.parametrize("engine_name", ["sqlite"], indirect=True)
def test_edited_migration_and_other_provider_fail(project):
    migrated(project)
    directory = write_migrations(project, {}, None)
    seed = directory / "20240103000000_seed" / "migration.sql"
    seed.write_text(seed.read_text() + "-- edited\n")
    code, out = project.run_json("health", "dev", "--no-drift")
    assert code == ExitStatus.HEALTH_FAILED, out
    migrations = checks(out)["migrations"]
    assert migrations["detail"] == "edited after being applied: 20240103000000_seed"
    assert migrations["data"]["modified"] == ["20240103000000_seed"]
    write_migrations(project, {}, "postgresql")
    code, out = project.run_json("health", "dev", "--no-drift")
    migrations = checks(out)["migrations"]
    assert migrations["status"] == "fail" and "provider 'postgresql'" in migrations["detail"]


@pytest.mark.parametrize("engine_name", ["sqlite"], indirect=True)
def test_tables_without_a_tracking_table_warn(project):
    configure(project, "sqlite")
    write_migrations(project, SIMPLE, "sqlite")
    project.database.execute("CREATE TABLE legacy (id INTEGER)")
    code, out = project.run_json("health", "dev", "--no-drift")
    assert code == ExitStatus.SUCCESS, out
    migrations = checks(out)["migrations"]
    assert migrations["status"] == "warn" and "(P3005)" in migrations["detail"]
    assert migrations["fix"] == "faber-db resolve dev --applied 20240101000000_init"


@pytest.mark.parametrize("engine_name", ["sqlite"], indirect=True)
def test_old_newest_backup_fails(project):
    migrated(project, health={"max_backup_age_hours": {"dev": 24}})
    old = format_utc(utcnow() - timedelta(hours=50))
    edit_catalogue(project, lambda entry: entry.update(timestamp=old))
    code, out = project.run_json("health", "dev", "--no-drift")
    assert code == ExitStatus.HEALTH_FAILED, out
    age = checks(out)["backup_age"]
    assert age["status"] == "fail" and "older than 24 h" in age["detail"], age
    assert age["fix"] == "faber-db backup dev"
    assert 49.9 < age["data"]["age_hours"] < 50.5


@pytest.mark.parametrize("engine_name", ["sqlite"], indirect=True)
def test_one_number_limits_every_environment_and_a_new_backup_clears_it(project):
    migrated(project, health={"max_backup_age_hours": 1})
    old = format_utc(utcnow() - timedelta(hours=2))
    edit_catalogue(project, lambda entry: entry.update(timestamp=old))
    assert project.run_json("health", "dev", "--no-drift")[0] == ExitStatus.HEALTH_FAILED
    assert project.run_json("backup", "dev")[0] == 0
    code, out = project.run_json("health", "dev", "--no-drift")
    assert code == ExitStatus.SUCCESS, out
    assert "(limit 1 h)" in checks(out)["backup_age"]["detail"]
    size = checks(out)["size"]
    assert size["data"]["backups"] == 2 and "backups" in size["detail"]


@pytest.mark.parametrize("engine_name", ["sqlite"], indirect=True)
def test_backup_file_deleted_by_hand_fails_and_shows_the_table(project):
    migrated(project)
    entry = project.catalogue()["backups"][0]
    (project.root / entry["file"]).unlink()
    output = project.run("health", "dev", "--no-drift")
    assert output.returncode == ExitStatus.HEALTH_FAILED, output
    assert output.stdout.startswith("FAIL: dev: health check failed: backup_files.")
    lines = output.stdout.splitlines()
    assert lines[1].split() == ["CHECK", "STATUS", "DETAIL"]
    row = next(line for line in lines if line.split()[:2] == ["backup_files", "FAIL"])
    assert "the newest backup's file is gone" in row
    assert "  faber-db backup dev" in output.stdout  # the fix, under next:
    code, out = project.run_json("health", "dev", "--no-drift")
    assert checks(out)["backup_files"]["data"]["missing"] == [entry["id"]]


@pytest.mark.parametrize("engine_name", ["sqlite"], indirect=True)
def test_deep_reads_the_checksum(project):
    migrated(project)
    entry = project.catalogue()["backups"][0]
    path = project.root / entry["file"]
    path.write_bytes(path.read_bytes()[:-1] + b"\0")
    code, out = project.run_json("health", "dev", "--no-drift")
    assert code == ExitStatus.SUCCESS, out  # a stat sees the file
    code, out = project.run_json("health", "dev", "--no-drift", "--deep")
    assert code == ExitStatus.HEALTH_FAILED, out
    files = checks(out)["backup_files"]
    assert files["status"] == "fail" and "sha256 differs" in files["detail"]
    assert out["result"]["deep"] is True


@pytest.mark.parametrize("engine_name", ["sqlite"], indirect=True)
def test_remote_copy_status(project):
    migrated(project)
    # The catalogue's own vocabulary (schemas/backups.schema.json): verified or missing.
    for remote_status, expected in (("verified", "ok"), ("missing", "fail")):
        edit_catalogue(
            project, lambda entry, s=remote_status: entry.update(remote={"status": s, "key": "k"})
        )
        code, out = project.run_json("health", "dev", "--no-drift")
        remote = checks(out)["backup_remote"]
        assert remote["status"] == expected, remote
        assert code == (ExitStatus.HEALTH_FAILED if expected == "fail" else ExitStatus.SUCCESS)


@pytest.mark.parametrize("engine_name", ["sqlite"], indirect=True)
def test_unreachable_database_fails_the_connection_check(project, tmp_path):
    configure(project, "sqlite")
    code, out = project.run_json(
        "health", "dev", env={"FABER_TEST_DEV_URL": f"sqlite:///{tmp_path}/absent.db"}
    )
    assert code == ExitStatus.HEALTH_FAILED, out
    found = checks(out)
    assert list(found) == ["connection", "backup_age", "backup_files"]
    assert found["connection"]["status"] == "fail"
    assert found["connection"]["fix"] == "faber-db db-create dev"


@pytest.mark.parametrize("engine_name", ["postgresql", "mysql"], indirect=True)
def test_open_transaction_warns_with_pid_age_and_query(project):
    migrated(project)
    session = project.database.connect()
    try:
        cursor = session.cursor()
        cursor.execute("BEGIN")
        cursor.execute("UPDATE account SET name = 'held' WHERE id = 1")  # then idle
        code, out = project.run_json("health", "dev", "--no-drift")
    finally:
        session.close()
    assert code == ExitStatus.SUCCESS, out  # a blocker warns; it does not fail
    blockers = checks(out)["blockers"]
    assert blockers["status"] == "warn", blockers
    (held,) = blockers["data"]["sessions"]
    assert held["idle"] is True and held["transaction_seconds"] >= 0
    if project.database.engine == "postgresql":  # MySQL keeps no query of an idle session
        assert held["query"] == "UPDATE account SET name = 'held' WHERE id = 1"
    assert f"pid {held['pid']} (idle in transaction" in blockers["detail"]
    assert str(held["pid"]) in blockers["fix"]
    code, out = project.run_json("health", "dev", "--no-drift")
    assert checks(out)["blockers"]["status"] == "ok", out


def test_migrate_with_health_check_before_deploy_stops_on_a_fail(project):
    migrated(project, safety={"health_check_before_deploy": True})
    before = applied_names(project.database)
    entry = project.catalogue()["backups"][0]
    (project.root / entry["file"]).unlink()
    write_migrations(project, {"20240104000000_more": "CREATE TABLE more (id INT);\n"}, None)
    code, out = project.run_json("migrate", "dev")
    assert code == ExitStatus.HEALTH_FAILED, out
    assert out["error"]["code"] == "health_failed"
    assert "nothing was changed" in out["message"]
    report = out["result"]["health"]
    assert {c["name"] for c in report["checks"]} >= {"connection", "backup_files"}
    assert "migrations" not in {c["name"] for c in report["checks"]}
    assert "drift" not in {c["name"] for c in report["checks"]}
    assert checks({"result": report})["backup_files"]["status"] == "fail"
    assert "faber-db backup dev" in out["recovery"]["suggestions"]
    assert applied_names(project.database) == before
    assert len(project.catalogue()["backups"]) == 1

    assert project.run_json("backup", "dev")[0] == 0  # the newest backup is whole again
    code, out = project.run_json("migrate", "dev")
    assert code == 0, out
    assert out["result"]["pre_deploy_health"]["status"] in ("ok", "warn")
    assert applied_names(project.database) == [*before, "20240104000000_more"]


@pytest.mark.parametrize("engine_name", ["postgresql"], indirect=True)
def test_pg_dump_older_than_the_server_fails_and_names_the_package(project, tmp_path):
    configure(project, "postgresql")
    stubs = tmp_path / "bin"
    stubs.mkdir()
    stub = stubs / "pg_dump"  # what an old postgresql-client on PATH would answer
    stub.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n")
    stub.chmod(0o755)
    path = {"PATH": f"{stubs}:{os.environ['PATH']}"}
    code, out = project.run_json("health", "dev", "--no-drift", env=path)
    assert code == ExitStatus.HEALTH_FAILED, out
    found = checks(out)
    major = found["server_version"]["data"]["version"].split(".")[0]
    tools = found["backup_tools"]
    assert tools["status"] == "fail", tools
    assert tools["detail"].startswith(f"pg_dump 9.6.24 cannot back up a PostgreSQL {major}.")
    assert tools["fix"] == f"apt-get install postgresql-client-{major}"
