"""Round trips on every engine: back up, change everything, roll back, and get
exactly the backed-up rows, schema objects and migration history; then restore
the safety backup and get the changes back."""

from __future__ import annotations

import json

import pytest
from restore_support import backup_id, build_schema, change_everything, snapshot


def test_rollback_round_trip_and_safety_backup(project):
    database = project.database
    build_schema(database)
    at_backup = snapshot(database)
    backup = backup_id(project)
    change_everything(database)
    changed = snapshot(database)

    code, out = project.run_json("rollback", "dev", "--yes")

    assert code == 0, out
    result = out["result"]
    assert result["backup_id"] == backup
    assert result["migrations_rolled_back"] == ["20240202000000_coupons"]
    assert result["verification"]["passed"] is True
    assert result["plan_id"].startswith("plan-")
    assert snapshot(database) == at_backup
    assert _migrations(database) == ["20240101000000_init"]
    _assert_objects_work(database)

    safety = result["safety_backup_id"]
    entry = next(b for b in project.catalogue()["backups"] if b["id"] == safety)
    assert entry["reason"] == "pre-rollback" and entry["retention_days"] >= 90
    code, out = project.run_json("restore", "dev", "--from", safety, "--yes")
    assert code == 0, out
    assert snapshot(database) == changed
    assert out["result"]["migrations_rolled_back"] == []
    restore_safety = out["result"]["safety_backup_id"]
    entry = next(b for b in project.catalogue()["backups"] if b["id"] == restore_safety)
    assert entry["reason"] == "pre-restore" and restore_safety.endswith("-pre-restore")


def test_dry_run_changes_nothing_and_reports_the_loss(project):
    database = project.database
    build_schema(database)
    backup_id(project)
    change_everything(database)
    before = snapshot(database)

    code, out = project.run_json("rollback", "dev", "--dry-run")

    assert code == 0 and out["status"] == "dry_run", out
    result = out["result"]
    assert result["migrations_to_remove"] == ["20240202000000_coupons"]
    assert result["safety_backup"] is True
    changes = {row["table"].split(".")[-1]: row for row in result["tables"]}
    assert changes["coupons"]["at_backup"] is None and changes["coupons"]["now"] == 1
    assert changes["notes"]["now"] is None and changes["notes"]["at_backup"] == 2
    assert changes["customers"]["now"] == 4 and changes["customers"]["at_backup"] == 3
    assert snapshot(database) == before
    assert len(project.catalogue()["backups"]) == 1


def test_rollback_to_migration_picks_the_matching_backup(project):
    database = project.database
    build_schema(database)
    first = backup_id(project)
    change_everything(database)
    backup_id(project)

    code, out = project.run_json("rollback", "dev", "--to", "20240101000000_init", "--yes")

    assert code == 0, out
    assert out["result"]["backup_id"] == first
    code, out = project.run_json("rollback", "dev", "--to", "no_such_migration", "--dry-run")
    assert code == 12 and out["error"]["code"] == "backup_not_found"


def test_deep_verify_restores_into_a_scratch_database(project):
    build_schema(project.database)
    backup = backup_id(project)

    code, out = project.run_json("backups", "verify", backup, "--deep")

    assert code == 0, out
    deep = out["result"]["verification"]["deep"]
    assert deep["passed"] is True and deep["tables_checked"] == 4
    stored = next(b for b in project.catalogue()["backups"] if b["id"] == backup)
    assert stored["verification"]["deep"]["passed"] is True


def _migrations(database) -> list[str]:
    rows = database.execute(
        "SELECT migration_name FROM _prisma_migrations WHERE rolled_back_at IS NULL"
        " ORDER BY started_at"
    )
    return [row[0] for row in rows]


def _assert_objects_work(database) -> None:
    database.execute("INSERT INTO customers (name) VALUES ('eve')")
    assert database.execute("SELECT name FROM customers WHERE name = 'EVE'") == [("EVE",)]
    assert len(database.execute("SELECT * FROM big_orders")) == 2
    if database.engine == "mysql":
        assert database.execute("SELECT answer()") == [(42,)]
        assert database.execute("CALL count_orders()") == [(3,)]


def test_restore_entry_is_the_deployers_automatic_rollback(project, monkeypatch):
    from faber_db.backup_manager.catalogue import Catalogue
    from faber_db.config import load_config
    from faber_db.rollback_manager.manager import restore_entry

    build_schema(project.database)
    at_backup = snapshot(project.database)
    backup = backup_id(project)
    change_everything(project.database)
    monkeypatch.chdir(project.root)
    for key, value in project.env.items():
        monkeypatch.setenv(key, value)
    config = load_config()
    entry = Catalogue.for_config(config).get(backup)

    report = restore_entry(config, config.resolve("dev"), entry)

    assert report["backup_id"] == backup and report["verification"]["passed"] is True
    assert report["migrations_rolled_back"] == ["20240202000000_coupons"]
    assert snapshot(project.database) == at_backup
    assert len(project.catalogue()["backups"]) == 1  # no safety backup inside it


@pytest.mark.parametrize("engine_name", ["postgresql"])
@pytest.mark.parametrize("analyze", [True, False])
def test_postgresql_restore_analyzes_unless_configured_not_to(project, analyze):
    build_schema(project.database)
    at_backup = snapshot(project.database)
    backup = backup_id(project)
    change_everything(project.database)
    config = json.loads((project.config_dir / "config.json").read_text())
    config["restore"] = {"analyze": analyze}
    project.write_config(config)

    code, out = project.run_json("restore", "dev", "--from", backup, "--no-safety-backup", "--yes")

    assert code == 0, out
    assert snapshot(project.database) == at_backup
    statistics = project.database.execute(
        "SELECT count(*) FROM pg_stats WHERE schemaname = 'public' AND tablename = 'customers'"
    )[0][0]
    if analyze:  # the planner's statistics exist the moment the restore commits
        assert statistics > 0
