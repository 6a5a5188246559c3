"""Refusals on every engine: a tampered backup, a protected environment without
approval, --no-safety-backup where backups are required, another engine's
backup; and --into, which never touches the environment's own database."""

from __future__ import annotations

import json

import pytest
from restore_support import backup_id, build_schema, change_everything, snapshot
from support import create_database, drop_database


def _protect(project, enforcement: str = "required") -> None:
    config = json.loads((project.config_dir / "config.json").read_text())
    config["safety"] = {
        "protected_environments": ["dev"],
        "backup_enforcement": {"dev": enforcement},
    }
    project.write_config(config)


def test_tampered_backup_is_refused_before_the_target_is_touched(project):
    build_schema(project.database)
    backup = backup_id(project)
    change_everything(project.database)
    before = snapshot(project.database)
    entry = project.catalogue()["backups"][0]
    path = project.root / entry["file"]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))

    code, out = project.run_json("restore", "dev", "--from", backup, "--yes")

    assert code == 13 and out["error"]["code"] == "backup_invalid", out
    assert "Nothing was touched" in out["message"]
    assert snapshot(project.database) == before
    assert project.catalogue()["backups"][0]["status"] == "invalid"
    assert len(project.catalogue()["backups"]) == 1  # no safety backup either


def test_protected_environment_needs_approval_of_the_exact_plan(project):
    build_schema(project.database)
    backup_id(project)
    change_everything(project.database)
    before = snapshot(project.database)
    _protect(project)

    code, out = project.run_json("rollback", "dev", "--yes")

    assert code == 14 and out["status"] == "approval_required", out
    plan_id = out["result"]["plan_id"]
    assert out["result"]["plan"]["migrations_to_remove"] == ["20240202000000_coupons"]
    assert snapshot(project.database) == before
    assert len(project.catalogue()["backups"]) == 1

    code, out = project.run_json("rollback", "dev", "--no-safety-backup", "--approve", plan_id)
    assert code == 19 and out["error"]["code"] == "blocked_by_policy", out
    assert snapshot(project.database) == before

    code, out = project.run_json("rollback", "dev", "--approve", plan_id)
    assert code == 0, out
    assert out["result"]["plan_id"] == plan_id and out["result"]["safety_backup_id"]


@pytest.mark.postgresql  # the other engine of the sqlite case is PostgreSQL too
@pytest.mark.parametrize("engine_name", ["sqlite", "postgresql"], indirect=False)
def test_backup_of_another_engine_is_refused(project, tmp_path, engine_name):
    build_schema(project.database)
    other_engine = "postgresql" if engine_name == "sqlite" else "sqlite"
    other = create_database(other_engine, tmp_path)
    try:
        project.env["FABER_TEST_OTHER_URL"] = other.url
        config = json.loads((project.config_dir / "config.json").read_text())
        config["environments"]["other"] = {"connection_string_env": "FABER_TEST_OTHER_URL"}
        project.write_config(config)
        backup = backup_id(project)

        code, out = project.run_json("restore", "other", "--from", backup, "--yes")

        assert code == 2 and out["error"]["code"] == "invalid_input", out
        assert "same engine" in out["message"]
    finally:
        drop_database(other)


def test_into_restores_a_copy_and_never_touches_the_original(project, tmp_path):
    build_schema(project.database)
    at_backup = snapshot(project.database)
    backup = backup_id(project)
    change_everything(project.database)
    changed = snapshot(project.database)
    engine = project.database.engine
    into = str(tmp_path / "copy.db") if engine == "sqlite" else f"faber_copy_{tmp_path.name[-8:]}"
    copy = project.database.conn.with_database(into)
    from faber_db.engines import engine_for

    try:
        code, out = project.run_json("restore", "dev", "--from", backup, "--into", into, "--yes")

        assert code == 0, out
        assert out["result"]["target_database"].endswith(into.rsplit("/", 1)[-1])
        assert out["result"]["safety_backup_id"] is None  # a new database: nothing to save
        assert snapshot(project.database) == changed
        from support import Database

        copy_url = project.database.url.rsplit("/", 1)[0] + "/" + into
        if engine == "sqlite":
            copy_url = f"sqlite:///{into}"
        assert snapshot(Database(engine, copy_url)) == at_backup
    finally:
        engine_for(copy).drop_database(into)


def test_restore_whose_rows_differ_from_the_manifest_changes_nothing(project):
    build_schema(project.database)
    backup = backup_id(project)
    change_everything(project.database)
    before = snapshot(project.database)
    catalogue = project.catalogue()
    tables = catalogue["backups"][0]["manifest"]["tables"]
    orders = next(name for name in tables if name.endswith("orders"))
    tables[orders] += 1  # the backup now claims a row the file does not hold
    project.catalogue_path.write_text(json.dumps(catalogue))

    code, out = project.run_json("restore", "dev", "--from", backup, "--no-safety-backup", "--yes")

    assert code != 0 and out["status"] == "error", out
    assert "orders" in out["message"], out
    assert snapshot(project.database) == before


@pytest.mark.parametrize("engine_name", ["postgresql"])
def test_partitioned_and_inherited_tables_restore_with_exact_counts(project):
    # Their rows live in other tables, so the restore's fast per-table insert
    # counts differ from the manifest and the exact count(*) must decide.
    project.database.script(
        [
            "CREATE TABLE measurements (id INT NOT NULL, taken DATE NOT NULL) PARTITION BY RANGE (taken)",
            "CREATE TABLE measurements_2024 PARTITION OF measurements"
            " FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
            "CREATE TABLE measurements_2025 PARTITION OF measurements"
            " FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')",
            "INSERT INTO measurements SELECT g, DATE '2024-06-01' + g FROM generate_series(1, 300) g",
            "CREATE TABLE animals (id INT, name TEXT)",
            "CREATE TABLE dogs (breed TEXT) INHERITS (animals)",
            "INSERT INTO animals VALUES (1, 'cat')",
            "INSERT INTO dogs VALUES (2, 'rex', 'collie'), (3, 'fido', 'pug')",
        ]
    )
    at_backup = snapshot(project.database)
    backup = backup_id(project)
    project.database.script(["DELETE FROM measurements WHERE id > 100", "DELETE FROM dogs"])

    code, out = project.run_json("restore", "dev", "--from", backup, "--no-safety-backup", "--yes")

    assert code == 0, out
    assert snapshot(project.database) == at_backup


@pytest.mark.parametrize("engine_name", ["mysql"])
def test_mysql_events_are_paused_in_the_scratch_schema_and_restored_as_backed_up(
    project, monkeypatch
):
    # With the event scheduler on, an event loaded into the scratch schema could run on
    # the restored rows before they are checked and swapped in.
    build_schema(project.database)
    project.database.script(
        [
            "CREATE EVENT purge_notes ON SCHEDULE EVERY 1 HOUR DO DELETE FROM notes",
            "CREATE EVENT idle_job ON SCHEDULE EVERY 1 DAY DISABLE DO DELETE FROM orders",
        ]
    )
    at_backup = snapshot(project.database)
    backup = backup_id(project)
    change_everything(project.database)
    event_status = (
        "SELECT EVENT_NAME, STATUS FROM information_schema.EVENTS"
        " WHERE EVENT_SCHEMA = DATABASE() ORDER BY 1"
    )
    from faber_db.rollback_manager import manager as restore_manager

    check_staged = restore_manager._check_staged
    while_checked = []

    def spying_check(engine, entry, table):
        with engine.session() as db:
            while_checked.extend(engine.query(db, event_status))
        return check_staged(engine, entry, table)

    monkeypatch.setattr(restore_manager, "_check_staged", spying_check)
    monkeypatch.chdir(project.root)
    for key, value in project.env.items():
        monkeypatch.setenv(key, value)
    from faber_db.approval import Approval
    from faber_db.config import load_config

    restore_manager.rollback(
        load_config(), "dev", backup, safety_backup=False, approval=Approval(yes=True)
    )

    assert while_checked == [("idle_job", "DISABLED"), ("purge_notes", "DISABLED")]
    assert project.database.execute(event_status) == [
        ("idle_job", "DISABLED"),
        ("purge_notes", "ENABLED"),
    ]
    assert snapshot(project.database) == at_backup
