"""Every command that changes an environment holds the same lock (issue 10, section 5):
a migrate started while a restore runs waits for it (or fails with LOCK_TIMEOUT)
instead of applying into a database the restore then replaces, and a held deploy
lock makes restore wait or fail."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from bulk_data import load_bulk
from migration_support import SIMPLE, TABLE, applied_names, configure, table_names, write_migrations
from restore_support import backup_id, processes_of

from faber_db.engines import engine_for
from faber_db.exit_codes import ExitStatus

ADDED = {"20240201000000_added": "CREATE TABLE added (id INTEGER PRIMARY KEY);\n"}
INIT = dict(list(SIMPLE.items())[:1])


def start(project, *args: str) -> subprocess.Popen:
    """Start `faber-db ARGS --json` in the project."""
    return subprocess.Popen(
        [sys.executable, "-m", "faber_db", *args, "--json"],
        cwd=project.root,
        env={**os.environ, **project.env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen) -> tuple[int, dict]:
    """Wait for a started run; return (exit code, its JSON output)."""
    stdout, stderr = process.communicate(timeout=300)
    try:
        return process.returncode, json.loads(stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"not JSON (rc={process.returncode}):\n{stdout}\n{stderr}") from None


def wait_for_restore_handler(process: subprocess.Popen) -> None:
    """Return once the restore's handler is loading the dump (the restore is under way)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if processes_of(process.pid, "restore-backup.sh"):
            return
        time.sleep(0.02)
    raise AssertionError(f"the restore ended or never started its handler: {finish(process)}")


def bulk_project(project, lock_timeout: int, rows: int = 150_000):
    """One applied migration, bulk rows, a backup of that; then a pending migration."""
    configure(project, project.database.engine, migrations={"lock_timeout_seconds": lock_timeout})
    write_migrations(project, INIT, project.database.engine)
    assert project.run_json("migrate", "dev")[0] == 0
    load_bulk(project.database, rows)
    backup = backup_id(project, "dev", "--compression", "gzip")
    write_migrations(project, ADDED, None)
    return backup


def restore_args(backup: str) -> list[str]:
    return ["restore", "dev", "--from", backup, "--yes", "--no-safety-backup"]


def test_migrate_waits_for_a_running_restore(project):
    backup = bulk_project(project, lock_timeout=240)
    restore = start(project, *restore_args(backup))
    wait_for_restore_handler(restore)
    migrate = start(project, "migrate", "dev")
    restore_code, restore_out = finish(restore)
    migrate_code, migrate_out = finish(migrate)
    assert restore_code == 0, restore_out
    assert migrate_code == 0, migrate_out
    assert migrate_out["result"]["migrations_applied"] == list(ADDED)
    # Nothing lost: the migrate ran after the restore's swap, not before it.
    assert "added" in table_names(project.database)
    assert sorted(applied_names(project.database)) == sorted([*INIT, *ADDED])
    assert project.database.execute("SELECT COUNT(*) FROM bulk") == [(150_000,)]


@pytest.mark.parametrize("engine_name", ["postgresql", "mysql"])
def test_migrate_during_restore_times_out_and_changes_nothing(project):
    # No wait at all, and enough rows that the restore outlasts the migrate's start-up.
    backup = bulk_project(project, lock_timeout=0, rows=400_000)
    restore = start(project, *restore_args(backup))
    wait_for_restore_handler(restore)
    migrate = start(project, "migrate", "dev")
    migrate_code, migrate_out = finish(migrate)
    still_restoring = restore.poll() is None
    restore_code, restore_out = finish(restore)
    assert restore_code == 0, restore_out
    assert still_restoring, "the restore ended before the migrate gave up: make it slower"
    assert migrate_code == ExitStatus.LOCK_TIMEOUT, migrate_out
    assert migrate_out["error"]["code"] == "lock_timeout"
    assert "Nothing was changed" in migrate_out["message"]
    assert "added" not in table_names(project.database)
    assert sorted(applied_names(project.database)) == sorted(INIT)


def test_held_deploy_lock_makes_restore_fail_and_changes_nothing(project):
    configure(project, project.database.engine, migrations={"lock_timeout_seconds": 1})
    write_migrations(project, INIT, project.database.engine)
    assert project.run_json("migrate", "dev")[0] == 0
    backup = backup_id(project)
    write_migrations(project, ADDED, None)
    assert project.run_json("migrate", "dev")[0] == 0
    engine = engine_for(project.database.conn)
    with engine.session() as db, engine.deploy_lock(db, 5):  # as a running migrate holds it
        code, out = project.run_json(*restore_args(backup))
        dry_code, _ = project.run_json("restore", "dev", "--from", backup, "--dry-run")
    assert code == ExitStatus.LOCK_TIMEOUT, out
    assert "Nothing was changed" in out["message"]
    assert dry_code == 0  # a dry run changes nothing and does not wait
    assert "added" in table_names(project.database)
    assert sorted(applied_names(project.database)) == sorted([*INIT, *ADDED])
    # Once the lock is free the same restore goes through.
    code, out = project.run_json(*restore_args(backup))
    assert code == 0, out
    assert "added" not in table_names(project.database)
    assert TABLE in table_names(project.database)


def test_held_deploy_lock_makes_rollback_and_resolve_fail(project):
    configure(project, project.database.engine, migrations={"lock_timeout_seconds": 1})
    write_migrations(project, INIT, project.database.engine)
    assert project.run_json("migrate", "dev")[0] == 0
    backup = backup_id(project)
    write_migrations(project, ADDED, None)
    engine = engine_for(project.database.conn)
    with engine.session() as db, engine.deploy_lock(db, 5):
        rollback_code, rollback_out = project.run_json("rollback", "dev", "--from", backup, "--yes")
        resolve_code, resolve_out = project.run_json("resolve", "dev", "--applied", list(ADDED)[0])
    assert rollback_code == ExitStatus.LOCK_TIMEOUT, rollback_out
    assert resolve_code == ExitStatus.LOCK_TIMEOUT, resolve_out
    assert sorted(applied_names(project.database)) == sorted(INIT)
