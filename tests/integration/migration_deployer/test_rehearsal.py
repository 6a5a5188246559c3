"""`faber-db migrate <env> --rehearse` (issue 16, part 1), on every engine: the
pending migrations run on a scratch copy of the newest backup, the target is only
read, the scratch database is always dropped, and safety.require_rehearsal holds
back a plan that has no passing rehearsal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from migration_support import configure, rows, table_names, write_migrations

from faber_db.engines import engine_for
from faber_db.engines.restorer import host_tag
from faber_db.exit_codes import ExitStatus
from faber_db.migration_deployer.rehearsal import PREFIX

INIT = {
    "20240101000000_init": "CREATE TABLE account (id INTEGER PRIMARY KEY, name VARCHAR(100));\n"
    "INSERT INTO account (id, name) VALUES (1, 'one');\n"
    "INSERT INTO account (id, name) VALUES (2, 'two');\n"
    "INSERT INTO account (id, name) VALUES (3, 'three');\n",
}
PENDING = {
    "20240102000000_add_email": "ALTER TABLE account ADD COLUMN email VARCHAR(200);\n"
    "UPDATE account SET email = 'x@example.com' WHERE id < 3;\n",
    "20240103000000_audit": "CREATE TABLE audit_log (id INTEGER PRIMARY KEY);\n",
}
FAILING = {
    "20240102000000_broken": "ALTER TABLE account ADD COLUMN email VARCHAR(200);\n"
    "\n"
    "UPDATE no_such_table SET x = 1;\n",
}


def backed_up_project(project, pending=PENDING, **config):
    """init applied (3 rows) and backed up; `pending` written, not applied."""
    configure(project, project.database.engine, **config)
    write_migrations(project, INIT, project.database.engine)
    code, out = project.run_json("migrate", "dev")
    assert code == 0, out
    code, out = project.run_json("backup", "dev")
    assert code == 0, out
    write_migrations(project, pending, None)
    return out["result"]["backup_id"]


def state(database) -> tuple:
    """What must not change on the target: its tables, its rows and its tracking table."""
    tracking = [(r["migration_name"], r["finished_at"], r["checksum"]) for r in rows(database)]
    accounts = database.execute("SELECT * FROM account ORDER BY id")
    return table_names(database), tracking, accounts


def assert_scratch_gone(database, report: dict) -> None:
    """The rehearsal's scratch database (or file) no longer exists."""
    engine = engine_for(database.conn)
    if engine.file_database:
        work = database.conn.database  # the project keeps its work dir elsewhere
        assert report["scratch_database"] == "(temp file)", work
        return
    assert report["scratch_database"].startswith(PREFIX)
    assert not engine.database_exists(report["scratch_database"])


def test_passing_rehearsal_reports_and_leaves_the_target_unchanged(project):
    backup_id = backed_up_project(project)
    before = state(project.database)
    code, out = project.run_json("migrate", "dev", "--rehearse")
    assert code == 0, out
    report = out["result"]["rehearsal"]
    assert out["result"]["target_unchanged"] is True
    assert report["passed"] and report["backup_id"] == backup_id and report["mode"] == "full"
    assert [m["name"] for m in report["migrations"]] == list(PENDING)
    add_email = report["migrations"][0]
    assert [s["rows_changed"] for s in add_email["statements"]][1] == 2
    assert add_email["rows_changed"] == 2 and add_email["duration_seconds"] >= 0
    assert state(project.database) == before
    assert_scratch_gone(project.database, report)
    leftovers = list((project.config_dir / "state" / "work").glob("**/faber_rehearsal_*"))
    assert leftovers == []
    record = json.loads((project.config_dir / "state" / "rehearsals" / "dev.json").read_text())
    assert record["rehearsals"][-1]["plan_id"] == out["result"]["plan_id"]
    assert record["rehearsals"][-1]["passed"] is True


def test_failing_rehearsal_names_the_statement_and_touches_nothing(project):
    backed_up_project(project, FAILING)
    before = state(project.database)
    code, out = project.run_json("migrate", "dev", "--rehearse")
    assert code == ExitStatus.MIGRATION_FAILED, out
    assert out["error"]["code"] == "migration_failed"
    assert "Rehearsal FAILED" in out["message"] and "not touched" in out["message"]
    result = out["result"]
    assert result["target_unchanged"] is True
    assert result["failed_migration"] == "20240102000000_broken"
    assert result["statement"]["number"] == 2 and result["statement"]["line"] == 3
    assert "no_such_table" in result["statement"]["sql"]
    assert result["rehearsal"]["passed"] is False
    assert state(project.database) == before
    assert_scratch_gone(project.database, result["rehearsal"])


def test_require_rehearsal_refuses_then_proceeds_after_one(project):
    backed_up_project(project)
    configure(project, project.database.engine, safety={"require_rehearsal": ["dev"]})
    before = state(project.database)
    code, out = project.run_json("migrate", "dev")
    assert code == ExitStatus.REHEARSAL_REQUIRED == 27, out
    assert out["error"]["code"] == "rehearsal_required"
    assert state(project.database) == before
    assert project.run_json("migrate", "dev", "--rehearse")[0] == 0
    code, out = project.run_json("migrate", "dev", "--dry-run")
    assert code == 0, out
    assert "Rehearsed on backup" in out["message"]
    assert out["result"]["plan"]["display"]["rehearsal"]["passed"] is True
    code, out = project.run_json("migrate", "dev")
    assert code == 0, out
    assert out["result"]["migrations_applied"] == list(PENDING)


def test_schema_rehearsal_runs_on_empty_tables(project):
    backed_up_project(project)
    code, out = project.run_json("migrate", "dev", "--rehearse=schema")
    assert code == 0, out
    report = out["result"]["rehearsal"]
    assert report["mode"] == "schema"
    assert report["migrations"][0]["rows_changed"] == 0  # the copy's tables were emptied
    assert len(project.database.execute("SELECT * FROM account")) == 3


@pytest.mark.parametrize("engine_name", ["postgresql"], indirect=True)
def test_postgresql_report_lists_locks_and_rewrites(project):
    pending = {
        "20240102000000_widen": "ALTER TABLE account ALTER COLUMN id TYPE BIGINT;\n",
        # No transaction (CONCURRENTLY): its locks are sampled from a second connection.
        "20240103000000_index": "CREATE INDEX CONCURRENTLY account_name_idx ON account (name);\n"
        "SELECT pg_sleep(0.3) FROM account;\n",
    }
    backed_up_project(project, pending)
    code, out = project.run_json("migrate", "dev", "--rehearse")
    assert code == 0, out
    widen, index = out["result"]["rehearsal"]["migrations"]
    assert {"relation": "public.account", "mode": "AccessExclusiveLock", "granted": True} in (
        widen["locks"]
    )
    assert widen["rewritten_tables"] == ["public.account"]
    assert index["transaction"] == "none" and index["rewritten_tables"] == []
    assert {"relation": "public.account", "mode": "AccessShareLock", "granted": True} in (
        index["locks"]
    )


@pytest.mark.parametrize("engine_name", ["postgresql", "mysql"], indirect=True)
def test_scratch_databases_of_dead_runs_are_dropped(project):
    backed_up_project(project)
    engine = engine_for(project.database.conn)
    stale = f"{PREFIX}999999999_{host_tag()}abcdef"  # no such pid
    engine.create_database(stale)
    try:
        code, out = project.run_json("migrate", "dev", "--rehearse")
        assert code == 0, out
        assert not engine.database_exists(stale)
        assert any(stale in w for w in out["warnings"])
    finally:
        engine.drop_database(stale)


def test_rehearsal_refuses_dry_run_and_a_missing_backup(project):
    configure(project, project.database.engine)
    write_migrations(project, INIT, project.database.engine)
    code, out = project.run_json("migrate", "dev", "--rehearse", "--dry-run")
    assert code == ExitStatus.USAGE, out
    code, out = project.run_json("migrate", "dev", "--rehearse")
    assert code == ExitStatus.BACKUP_NOT_FOUND, out
    assert "no valid backup" in out["message"]
    assert table_names(project.database) == set()


@pytest.mark.parametrize("engine_name", ["sqlite"], indirect=True)
def test_approval_of_a_protected_plan_shows_its_rehearsal(project):
    config = configure(project, "sqlite")
    config["environments"]["production"] = config["environments"].pop("dev")
    project.write_config(config)
    write_migrations(project, INIT, "sqlite")
    assert project.run_json("migrate", "production", "--yes")[0] == ExitStatus.APPROVAL_REQUIRED
    code, out = project.run_json("migrate", "production", "--dry-run")
    assert project.run_json("migrate", "production", "--approve", out["result"]["plan_id"])[0] == 0
    assert project.run_json("backup", "production")[0] == 0
    write_migrations(project, PENDING, None)
    assert project.run_json("migrate", "production", "--rehearse")[0] == 0
    code, out = project.run_json("migrate", "production")
    assert code == ExitStatus.APPROVAL_REQUIRED, out
    assert "Rehearsed on backup" in out["message"] and "passed in" in out["message"]
    assert state(project.database)[1][-1][0] == "20240101000000_init"  # nothing deployed


@pytest.mark.parametrize("engine_name", ["postgresql", "mysql"], indirect=True)
def test_sigterm_mid_rehearsal_drops_the_scratch_database(project):
    sleep = (
        "SELECT pg_sleep(20);\n"
        if project.database.engine == "postgresql"
        else "SELECT SLEEP(20);\n"
    )
    backed_up_project(project, {"20240102000000_slow": sleep})
    engine = engine_for(project.database.conn)
    process = subprocess.Popen(
        [sys.executable, "-m", "faber_db", "migrate", "dev", "--rehearse", "--json"],
        cwd=project.root,
        env={**os.environ, **project.env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    mine = f"{PREFIX}{process.pid}_"
    try:
        deadline = time.monotonic() + 60
        while not engine.databases_with_prefix(mine) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert engine.databases_with_prefix(mine), "the scratch database never appeared"
        time.sleep(1.0)  # into the migration's sleep
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    finally:
        process.kill()
    assert process.returncode == ExitStatus.INTERRUPTED, process.stderr.read()
    assert engine.databases_with_prefix(mine) == []


@pytest.mark.parametrize("engine_name", ["sqlite"], indirect=True)
def test_an_older_backup_is_brought_up_to_date_on_the_copy(project):
    first, second = list(PENDING)
    backed_up_project(project, {first: PENDING[first]})
    assert project.run_json("migrate", "dev")[0] == 0
    write_migrations(project, {second: PENDING[second]}, None)
    code, out = project.run_json("migrate", "dev", "--rehearse")
    assert code == 0, out
    report = out["result"]["rehearsal"]
    assert [m["name"] for m in report["migrations"]] == [first, second]
    assert report["passed"] is True
    assert any("predates" in w and first in w for w in out["warnings"])


@pytest.mark.parametrize("engine_name", ["sqlite"], indirect=True)
def test_an_encrypted_backup_is_rehearsed_with_the_identity(project, tmp_path):
    key = tmp_path / "age.key"
    subprocess.run(["age-keygen", "-o", str(key)], check=True, capture_output=True)
    key.chmod(0o600)
    public = subprocess.run(
        ["age-keygen", "-y", str(key)], check=True, capture_output=True, text=True
    ).stdout.strip()
    backed_up_project(project, backup={"encryption": {"recipients": [public]}})
    code, out = project.run_json("migrate", "dev", "--rehearse")
    assert code == ExitStatus.DECRYPTION_FAILED, out  # no identity: nothing restored
    identity = {"FABER_DB_AGE_IDENTITY": str(key)}
    code, out = project.run_json("migrate", "dev", "--rehearse", env=identity)
    assert code == 0, out
    assert out["result"]["rehearsal"]["passed"] is True
