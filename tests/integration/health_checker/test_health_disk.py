"""The disk_space check of `faber-db health`: the next backup estimated as `backup`
estimates it, against the free space of the backups folder (made small here)."""

from __future__ import annotations

from collections import namedtuple

import pytest

from faber_db.config import load_config
from faber_db.health_checker import checks
from faber_db.health_checker.health import run_health

Usage = namedtuple("Usage", "total used free")


def disk_check(project, monkeypatch, free: int) -> dict:
    project.write_config(
        {
            "schema_version": "1.0",
            "database": {"provider": "sqlite", "migration_tool": "prisma"},
            "environments": {"dev": {"connection_string_env": "FABER_TEST_DEV_URL"}},
        }
    )
    monkeypatch.setenv("FABER_TEST_DEV_URL", project.env["FABER_TEST_DEV_URL"])
    monkeypatch.setattr(checks.shutil, "disk_usage", lambda path: Usage(free * 2, free, free))
    result = run_health(load_config(project.config_dir / "config.json"), "dev")
    return next(c for c in result.result["checks"] if c["name"] == "disk_space")


@pytest.mark.parametrize("engine_name", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("free", "status"), [(1 << 40, "ok"), (12 << 20, "warn"), (1 << 20, "fail")]
)
def test_room_for_the_next_backup(project, monkeypatch, free, status):
    check = disk_check(project, monkeypatch, free)
    assert check["status"] == status, check
    assert check["data"]["available_bytes"] == free
    assert check["data"]["required_bytes"] >= 8 << 20  # the margin `backup` keeps too
    assert (check["fix"] is None) == (status == "ok")
