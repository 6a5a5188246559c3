"""The rehearsal record and the require_rehearsal policy (pure logic, no database)."""

from __future__ import annotations

import json
import os
from datetime import timedelta

import pytest

from faber_db.config import load_config
from faber_db.engines.restorer import host_tag
from faber_db.errors import RehearsalRequiredError
from faber_db.migration_deployer import rehearsal_record as record
from faber_db.migration_deployer.rehearsal import scratch_name, stale_owner_gone
from faber_db.timeutil import format_utc, utcnow

PLAN = "plan-0123456789abcdef"


def config_with(tmp_path, **safety):
    directory = tmp_path / ".fractary" / "plugins" / "faber-db"
    directory.mkdir(parents=True, exist_ok=True)
    data = {
        "environments": {"production": {"connection_string_env": "X"}},
        "safety": {"protected_environments": ["production"], **safety},
    }
    (directory / "config.json").write_text(json.dumps(data))
    return load_config(start=tmp_path)


def rehearsal(hours_ago=0.0, **changes):
    taken = format_utc(utcnow() - timedelta(hours=hours_ago))
    return {
        "plan_id": PLAN,
        "backup_id": "backup-20261203-060000",
        "backup_taken_at": "2026-12-03T06:00:00Z",
        "taken_at": taken,
        "passed": True,
        "mode": "full",
        "duration_seconds": 12.3,
        "migrations": ["20240102000000_x"],
    } | changes


def test_a_recent_passing_full_rehearsal_of_the_plan_counts(tmp_path):
    config = config_with(tmp_path, require_rehearsal=["production"])
    record.record_rehearsal(config, "production", rehearsal(hours_ago=1))
    found = record.check_required(config, "production", PLAN)
    assert found["backup_id"] == "backup-20261203-060000"
    assert record.describe(found) == (
        "rehearsed on backup backup-20261203-060000 (taken 2026-12-03T06:00:00Z): passed in 12.3s"
    )


@pytest.mark.parametrize(
    "stale",
    [
        {"hours_ago": 25},
        {"passed": False},
        {"mode": "schema"},
        {"plan_id": "plan-ffffffffffffffff"},
    ],
)
def test_old_failed_schema_only_or_other_plans_do_not_count(tmp_path, stale):
    config = config_with(tmp_path, require_rehearsal=["production"])
    hours = stale.pop("hours_ago", 0.0)
    record.record_rehearsal(config, "production", rehearsal(hours_ago=hours, **stale))
    with pytest.raises(RehearsalRequiredError) as raised:
        record.check_required(config, "production", PLAN)
    assert raised.value.code == "rehearsal_required"
    assert "--rehearse" in raised.value.suggestions[0]


def test_max_age_is_configurable_and_unrequired_environments_pass(tmp_path):
    config = config_with(tmp_path, require_rehearsal=["production"], rehearsal_max_age_hours=48)
    record.record_rehearsal(config, "production", rehearsal(hours_ago=30))
    assert record.check_required(config, "production", PLAN) is not None
    assert record.check_required(config_with(tmp_path), "production", "plan-x") is None


def test_the_record_keeps_the_last_twenty(tmp_path):
    config = config_with(tmp_path)
    for number in range(25):
        record.record_rehearsal(config, "production", rehearsal(duration_seconds=number))
    kept = record.rehearsals(config, "production")
    assert len(kept) == 20 and kept[-1]["duration_seconds"] == 24


def test_an_unreadable_record_is_no_rehearsal(tmp_path):
    config = config_with(tmp_path)
    path = config.state_dir / "rehearsals" / "production.json"
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    assert record.rehearsals(config, "production") == []


def test_scratch_names_are_ours_and_only_dead_local_owners_are_stale():
    name = scratch_name()
    assert name.startswith(f"faber_rehearsal_{os.getpid()}_{host_tag()}")
    assert len(name) <= 63
    assert stale_owner_gone(name) is False  # this process is alive
    assert stale_owner_gone(f"faber_rehearsal_999999999_{host_tag()}abcdef") is True
    other_host = "0000" if host_tag() != "0000" else "1111"
    assert stale_owner_gone(f"faber_rehearsal_999999999_{other_host}abcdef") is False
    assert stale_owner_gone("faber_rehearsal_production") is False
    assert stale_owner_gone("app_faber_rehearsal_999999999_abcdabcdef") is False
