"""Pure parts of the health checks: pg_dump against the server's major version, the
backup age limit per environment, the overall verdict."""

from __future__ import annotations

from pathlib import Path

import pytest

from faber_db.config import Config
from faber_db.engines.postgresql.lock_waits import pg_dump_problem
from faber_db.health_checker.checks import Check, max_backup_age_hours
from faber_db.health_checker.health import overall_status


def config(**health) -> Config:
    data = {
        "environments": {"dev": {}, "production": {}, "staging": {}},
        "safety": {"protected_environments": ["production"]},
    }
    if health:
        data["health"] = health
    return Config(path=None, project_root=Path("/nonexistent"), data=data)


def test_pg_dump_older_than_the_server_cannot_back_it_up():
    why, fix = pg_dump_problem("15.20", "16.4")
    assert "pg_dump 15.20 cannot back up a PostgreSQL 16.4 server" in why
    assert fix == "apt-get install postgresql-client-16"


@pytest.mark.parametrize(
    ("tool", "server"), [("15.20", "15.2"), ("16.1", "15.20"), ("17beta1", "17.0")]
)
def test_pg_dump_of_the_same_or_a_newer_major_can(tool, server):
    assert pg_dump_problem(tool, server) is None


def test_backup_age_limit_defaults_to_24_hours_on_protected_environments_only():
    assert max_backup_age_hours(config(), "production") == 24
    assert max_backup_age_hours(config(), "dev") is None


def test_backup_age_limit_as_one_number_or_a_map():
    assert max_backup_age_hours(config(max_backup_age_hours=6), "dev") == 6
    per_env = config(max_backup_age_hours={"dev": 48, "production": None})
    assert max_backup_age_hours(per_env, "dev") == 48
    assert max_backup_age_hours(per_env, "production") is None  # null: no limit
    assert max_backup_age_hours(per_env, "staging") is None  # not listed: the default


def test_overall_status_is_the_worst_check():
    ok, warn, fail = (Check("x", s, "") for s in ("ok", "warn", "fail"))
    assert overall_status([ok]) == "ok"
    assert overall_status([ok, warn]) == "warn"
    assert overall_status([warn, fail, ok]) == "fail"
