"""Fault injection on every engine: SIGKILL faber-db early, mid-data and during
the swap (or while it waits on a lock there), and feed it damaged backups that
pass the file checks. Each time the target must be row-for-row entirely old or
entirely new, the catalogue valid, and the next run must clean up after it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from bulk_data import load_bulk
from restore_support import (
    backup_id,
    build_schema,
    change_everything,
    processes_of,
    run_and_kill,
    snapshot,
)

from faber_db.approval import Approval
from faber_db.backup_manager.file_verification import Verification
from faber_db.config import load_config
from faber_db.errors import FaberError
from faber_db.resources import validation_errors

BULK_ROWS = 500_000
# The loading client itself (the mysql handler also runs a short `mariadb --version`).
LOADERS = {
    "postgresql": "psql",
    "mysql": "mariadb --defaults-extra-file",
    "sqlite": "sqlite_tool.py load",
}


def _prepare(project, *backup_args: str) -> tuple[str, dict, dict]:
    build_schema(project.database)
    load_bulk(project.database, BULK_ROWS)
    at_backup = snapshot(project.database)
    backup = backup_id(project, "dev", *backup_args)
    change_everything(project.database)
    return backup, at_backup, snapshot(project.database)


def _assert_intact(project, old: dict, new: dict) -> dict:
    state = snapshot(project.database)
    assert state in (old, new), "the target is neither its old nor its restored content"
    assert validation_errors(project.catalogue(), "backups") == []
    return state


def _kill_points(project, engine: str) -> list[tuple[str, object, float]]:
    def loading(pid: int) -> bool:
        return bool(processes_of(pid, LOADERS[engine]))

    seen_rows = []

    def copying(pid: int) -> bool:  # the server has started loading rows, the loader still runs
        if engine == "sqlite":
            return loading(pid)
        if seen_rows:  # statements come and go between batches; the load is still under way
            return loading(pid)
        sql = {
            "postgresql": "SELECT count(*) FROM pg_stat_activity WHERE state = 'active'"
            " AND query LIKE 'COPY %%' AND datname = current_database()",
            "mysql": "SELECT COUNT(*) FROM information_schema.PROCESSLIST"
            " WHERE INFO LIKE 'INSERT INTO%%' AND DB LIKE '%%\\_\\_faber\\_%%'",
        }[engine]
        if project.database.execute(sql)[0][0] > 0:
            seen_rows.append(True)
        return bool(seen_rows) and loading(pid)

    return [("early", loading, 0.0), ("mid-data", copying, 0.4 if engine == "sqlite" else 0.0)]


@pytest.mark.slow
def test_sigkill_leaves_old_or_new_content(project):
    engine = project.database.engine
    args = ("--format", "sql") if engine == "sqlite" else ()
    backup, at_backup, changed = _prepare(project, *args)
    command = ["rollback", "dev", "--from", backup, "--no-safety-backup", "--yes"]

    for label, ready, delay in _kill_points(project, engine):
        assert run_and_kill(project, command, ready, delay), f"{label}: finished before the kill"
        assert _assert_intact(project, changed, at_backup) == changed, label

    with _blocking_reader(project.database):
        killed = run_and_kill(project, command, _swap_waiting(project, engine), 0.3)
    assert killed, "the swap did not wait for the reader"
    _wait_for_server(project.database)
    code, out = project.run_json("backup", "dev")  # finishes or undoes an interrupted swap
    assert code == 0, out
    if engine == "mysql":  # a half-done swap is finished before anything else runs
        assert any("interrupted restore" in w for w in out["warnings"]), out["warnings"]
    _assert_intact(project, changed, at_backup)

    code, out = project.run_json(*command)
    assert code == 0, out
    if engine == "sqlite":  # the staged copy beside the target is removed by the next restore
        assert any("interrupted restore" in w for w in out["warnings"]), out["warnings"]
    assert snapshot(project.database) == at_backup
    _assert_no_leftovers(project)


@pytest.mark.parametrize("damage", ["middle", "tail"])
def test_damaged_backup_that_passes_the_file_checks_fails_safely(project, monkeypatch, damage):
    build_schema(project.database)
    load_bulk(project.database, 20_000)
    extra = ("--format", "sql", "--compression", "none") if damage == "middle" else ()
    backup = backup_id(project, "dev", *extra)
    change_everything(project.database)
    before = snapshot(project.database)
    _damage(project, backup, damage)
    if damage == "tail":
        # A cut-off compressed file fails the decompression check; skip step 1 to prove
        # that the restore itself refuses it too.
        monkeypatch.setattr(
            "faber_db.rollback_manager.manager.verify_file",
            lambda *a: Verification("passed", "passed", "passed"),
        )
    monkeypatch.chdir(project.root)
    for key, value in project.env.items():
        monkeypatch.setenv(key, value)
    from faber_db.rollback_manager.manager import rollback

    with pytest.raises(FaberError) as raised:
        rollback(load_config(), "dev", backup, safety_backup=False, approval=Approval(yes=True))

    assert raised.value.code in ("restore_failed", "verification_failed"), raised.value.message
    assert "keeps its previous content" in raised.value.message
    assert snapshot(project.database) == before
    assert validation_errors(project.catalogue(), "backups") == []
    _assert_no_leftovers(project)


@pytest.mark.parametrize("engine_name", ["postgresql"])
def test_archive_cut_exactly_between_data_blocks_is_refused(project):
    # Restoring an archive checks no trailer: pg_restore itself must refuse an archive
    # that ends cleanly after one table's data, before the next table's.
    import hashlib
    import json

    build_schema(project.database)
    load_bulk(project.database, 5_000)
    backup = backup_id(project, "dev", "--compression", "none")
    change_everything(project.database)
    before = snapshot(project.database)
    catalogue = project.catalogue()
    entry = next(b for b in catalogue["backups"] if b["id"] == backup)
    path = project.root / entry["file"]
    data = path.read_bytes()
    # A data block starts with type 1 and its dump id (sign byte + 4 bytes), right after
    # the previous block's end marker (a zero length: sign byte + 4 zero bytes).
    starts = [
        i
        for i in range(5, len(data) - 5)
        if data[i - 5 : i] == bytes(5) and data[i] == 1 and data[i + 1] == 0
    ]
    assert len(starts) >= 2, "expected several table data blocks"
    cut = data[: starts[-1]]
    path.write_bytes(cut)
    entry["sha256"], entry["size_bytes"] = hashlib.sha256(cut).hexdigest(), len(cut)
    project.catalogue_path.write_text(json.dumps(catalogue, indent=2))

    code, out = project.run_json("restore", "dev", "--from", backup, "--no-safety-backup", "--yes")

    assert code != 0 and out["error"]["code"] == "restore_failed", out
    assert "keeps its previous content" in out["message"]
    assert snapshot(project.database) == before
    _assert_no_leftovers(project)


def _damage(project, backup: str, how: str) -> None:
    import hashlib
    import json

    catalogue = project.catalogue()
    entry = next(b for b in catalogue["backups"] if b["id"] == backup)
    path = project.root / entry["file"]
    data = path.read_bytes()
    if how == "middle":  # keep head and trailer: the format check still passes
        data = data[: len(data) // 3] + data[len(data) // 2 :]
    else:
        data = data[: int(len(data) * 0.6)]
    path.write_bytes(data)
    entry["sha256"] = hashlib.sha256(data).hexdigest()
    entry["size_bytes"] = len(data)
    project.catalogue_path.write_text(json.dumps(catalogue, indent=2))


class _blocking_reader:
    """Hold a read lock on `customers` so the restore's swap has to wait for it."""

    def __init__(self, database) -> None:
        self.database = database

    def __enter__(self):
        self.db = self.database.connect()
        cursor = self.db.cursor()
        if self.database.engine == "mysql":
            cursor.execute("START TRANSACTION")
        elif self.database.engine == "postgresql":
            cursor.execute("BEGIN")
            cursor.execute("LOCK TABLE customers IN ACCESS SHARE MODE")
        else:
            cursor.execute("BEGIN")
        cursor.execute("SELECT * FROM customers")
        cursor.fetchall()
        self.cursor = cursor
        return self

    def __exit__(self, *exc) -> None:
        self.cursor.execute("ROLLBACK")
        self.db.close()


def _swap_waiting(project, engine: str):
    """ready(pid): the restore reached its swap (or, for PostgreSQL, its first DROP) and waits."""
    state_dir = project.config_dir / "state"

    def ready(pid: int) -> bool:
        if engine == "mysql":
            return any(
                '"state": "swapping"' in p.read_text() for p in state_dir.glob("restore.*.json")
            )
        if engine == "sqlite":
            return bool(processes_of(pid, "sqlite_tool.py install"))
        rows = project.database.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND datname = current_database()"
        )
        return rows[0][0] > 0

    return ready


def _wait_for_server(database, timeout: float = 30) -> None:
    """Let a statement the killed run left queued on the server end (MySQL's RENAME)."""
    if database.engine != "mysql":
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = database.execute(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'RENAME TABLE%%'"
        )
        if rows[0][0] == 0:
            return
        time.sleep(0.1)


def _assert_no_leftovers(project) -> None:
    database = project.database
    if database.engine == "mysql":
        rows = database.execute(
            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE %s",
            (database.conn.database + "\\_\\_faber\\_%",),
        )
        assert rows == []
        assert list((project.config_dir / "state").glob("restore.*.json")) == []
    elif database.engine == "sqlite":
        target = Path(database.conn.database)
        assert list(target.parent.glob(f".{target.name}.faber-restore-*")) == []
