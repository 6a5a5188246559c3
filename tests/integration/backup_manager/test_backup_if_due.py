"""`faber-db backup <env> --if-due`: due decisions, racing runs, auto_cleanup."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from support import Project, basic_config


def scheduled(project: Project, schedule: str = "6h", **backup) -> None:
    config = basic_config(dev="FABER_TEST_DEV_URL")
    config["backup"] = {"schedule": {"dev": schedule}, **backup}
    project.write_config(config)


def test_due_then_not_due(project):
    scheduled(project)
    code, first = project.run_json("backup", "dev", "--if-due")
    assert code == 0, first
    assert first["result"]["due"] is True
    assert first["result"]["reason"] == "scheduled"
    assert first["result"]["status"] == "valid"
    code, second = project.run_json("backup", "dev", "--if-due")
    assert code == 0, second
    assert second["result"]["due"] is False
    assert second["result"]["next_due"] == first["result"]["next_due"]
    assert second["result"]["newest_backup_id"] == first["result"]["backup_id"]
    assert "not due until " + first["result"]["next_due"] in second["message"]
    assert len(project.catalogue()["backups"]) == 1
    # A timer polls every few minutes: only runs that did something are audited.
    trail = (project.config_dir / "audit.jsonl").read_text().splitlines()
    backups = [json.loads(line) for line in trail if '"operation": "backup"' in line]
    assert [b["backup_id"] for b in backups] == [first["result"]["backup_id"]]


def test_a_manual_backup_counts_and_an_old_one_does_not(tmp_path):
    project = sqlite_project(tmp_path)
    scheduled(project, "daily")
    code, manual = project.run_json("backup", "dev")
    assert code == 0, manual
    assert project.run_json("backup", "dev", "--if-due")[1]["result"]["due"] is False
    age_catalogue(project, days=2)
    code, due = project.run_json("backup", "dev", "--if-due")
    assert code == 0 and due["result"]["due"] is True, due


def test_two_racing_runs_take_one_backup(tmp_path):
    project = sqlite_project(tmp_path)
    scheduled(project, "hourly")
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "faber_db", "backup", "dev", "--if-due", "--json"],
            cwd=project.root,
            env={**os.environ, **project.env},
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [json.loads(run.communicate(timeout=120)[0]) for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], outputs
    assert sorted(o["result"]["due"] for o in outputs) == [False, False, True]
    assert len(project.catalogue()["backups"]) == 1


def test_auto_cleanup_prunes_expired_backups_after_a_due_one(tmp_path):
    project = sqlite_project(tmp_path)
    scheduled(project, "6h", auto_cleanup=True, min_keep=1)
    code, old = project.run_json("backup", "dev", "--retention", "1")
    assert code == 0, old
    age_catalogue(project, days=7)
    code, due = project.run_json("backup", "dev", "--if-due")
    assert code == 0, due
    assert due["result"]["pruned"] == [old["result"]["backup_id"]]
    assert [b["id"] for b in project.catalogue()["backups"]] == [due["result"]["backup_id"]]
    assert not (project.root / old["result"]["file"]).exists()


def test_without_auto_cleanup_nothing_is_pruned(tmp_path):
    project = sqlite_project(tmp_path)
    scheduled(project, "6h", min_keep=1)
    project.run_json("backup", "dev", "--retention", "1")
    age_catalogue(project, days=7)
    code, due = project.run_json("backup", "dev", "--if-due")
    assert code == 0 and due["result"]["pruned"] == []
    assert len(project.catalogue()["backups"]) == 2


def test_an_environment_without_a_schedule_is_a_config_error(tmp_path):
    project = sqlite_project(tmp_path)
    code, out = project.run_json("backup", "dev", "--if-due")
    assert code == 3 and out["error"]["code"] == "config_invalid"
    assert "backup.schedule.dev" in out["message"]
    assert project.catalogue()["backups"] == []


def sqlite_project(tmp_path) -> Project:
    from support import create_database

    database = create_database("sqlite", tmp_path)
    root = tmp_path / "project"
    root.mkdir()
    project = Project(root, {"FABER_TEST_DEV_URL": database.url})
    project.write_config(basic_config(dev="FABER_TEST_DEV_URL"))
    return project


def age_catalogue(project: Project, days: int) -> None:
    """Make every catalogued backup `days` older (taken and expiring earlier)."""
    from datetime import timedelta

    from faber_db.timeutil import format_utc, parse_utc

    data = project.catalogue()
    for entry in data["backups"]:
        for key in ("timestamp", "expires_at"):
            entry[key] = format_utc(parse_utc(entry[key]) - timedelta(days=days))
    project.catalogue_path.write_text(json.dumps(data, indent=2))
