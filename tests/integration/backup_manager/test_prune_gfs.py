"""`backups prune` with GFS retention (backup.retention): the dry run names the rule
that keeps each backup or the reason it goes; prune deletes exactly those."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from restore_support import backup_id, build_schema
from support import basic_config


@pytest.mark.parametrize("engine_name", ["sqlite"])
def test_prune_dry_run_lists_every_rule_then_prunes(project):
    config = basic_config(dev="FABER_TEST_DEV_URL")
    config["backup"] = {"min_keep": 1, "retention": {"keep_daily": 2, "keep_monthly": 2}}
    project.write_config(config)
    build_schema(project.database)
    ids = [backup_id(project, "dev", "--label", f"b{i}") for i in range(5)]
    now = datetime.now(timezone.utc)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    last_month = (midnight.replace(day=1) - timedelta(days=1)).replace(day=1)
    when = {
        ids[0]: now,  # the newest: min_keep
        ids[1]: midnight,  # same day as the newest: a newer one keeps that day
        ids[2]: last_month.replace(hour=12),  # newest of last month
        ids[3]: last_month.replace(hour=6),  # an older one of last month
        ids[4]: midnight - timedelta(days=400),  # outside every period
    }
    catalogue = project.catalogue()
    for entry in catalogue["backups"]:
        entry["timestamp"] = when[entry["id"]].strftime("%Y-%m-%dT%H:%M:%SZ")
    project.catalogue_path.write_text(json.dumps(catalogue, indent=2))

    code, out = project.run_json("backups", "prune", "dev", "--dry-run", "--yes")
    assert code == 2 and out["error"]["code"] == "usage_error", out
    code, out = project.run_json("backups", "prune", "dev", "--dry-run")
    assert code == 0 and out["status"] == "dry_run", out
    plan = out["result"]["plan"]
    delete = {d["backup_id"]: d["reason"] for d in plan["delete"]}
    keep = {d["backup_id"]: d["reason"] for d in plan["display"]["keep"]}
    assert set(delete) == {ids[1], ids[3], ids[4]} and set(keep) == {ids[0], ids[2]}
    assert "min_keep" in keep[ids[0]]
    assert keep[ids[2]] == f"GFS: newest of monthly {last_month:%Y-%m}"
    assert delete[ids[1]].endswith("keeps that day")
    assert delete[ids[3]] == f"GFS: a newer backup of {last_month:%Y-%m} keeps that month"
    assert delete[ids[4]] == "GFS: outside every kept period (daily 2, monthly 2)"
    assert len(project.catalogue()["backups"]) == 5

    files = {e["id"]: project.root / e["file"] for e in project.catalogue()["backups"]}
    code, out = project.run_json("backups", "prune", "dev", "--yes")
    assert code == 0, out
    assert sorted(out["result"]["deleted"]) == sorted([ids[1], ids[3], ids[4]])
    assert {e["id"] for e in project.catalogue()["backups"]} == {ids[0], ids[2]}
    assert [i for i, path in files.items() if path.exists()] == [ids[0], ids[2]]
