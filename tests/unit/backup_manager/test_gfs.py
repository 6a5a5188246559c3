"""GFS retention: the newest valid backup of each of the last N days, ISO weeks,
months and years is kept; min_keep, the newest valid backup and young safety backups
still hold; everything else goes, each with its reason."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from test_retention import entry

from faber_db.backup_manager.gfs import GfsPolicy, gfs_keepers
from faber_db.backup_manager.retention import plan_prune
from faber_db.timeutil import format_utc

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=timezone.utc)  # a Wednesday


def at(backup_id: str, when: datetime, **kwargs):
    """An entry taken at `when` (test_retention's entry() counts days before its NOW)."""
    made = entry(backup_id, 0, **kwargs)
    made.timestamp = format_utc(when)
    made.expires_at = format_utc(when + timedelta(days=30))
    return made


def decisions_by_id(entries, policy, min_keep=1, **kwargs):
    return {d.entry.id: d for d in plan_prune(entries, NOW, min_keep, gfs=policy, **kwargs)}


def test_keeps_the_newest_of_each_of_the_last_n_days():
    entries = [
        at("d0-late", NOW - timedelta(hours=1)),
        at("d0-early", NOW - timedelta(hours=10)),
        at("d1", NOW - timedelta(days=1)),
        at("d2", NOW - timedelta(days=2)),
        at("d3", NOW - timedelta(days=3)),
    ]
    decisions = decisions_by_id(entries, GfsPolicy(keep_daily=3))
    assert {i for i, d in decisions.items() if d.delete} == {"d0-early", "d3"}
    assert decisions["d1"].reason == "GFS: newest of daily 2026-06-09"
    assert decisions["d0-early"].reason == "GFS: a newer backup of 2026-06-10 keeps that day"
    assert decisions["d3"].reason == "GFS: outside every kept period (daily 3)"


def test_weeks_months_and_years_keep_their_newest():
    entries = [
        at("today", NOW),
        at("mon", datetime(2026, 6, 8, tzinfo=timezone.utc)),  # same ISO week as today
        at("last-week", datetime(2026, 6, 5, tzinfo=timezone.utc)),
        at("may", datetime(2026, 5, 20, tzinfo=timezone.utc)),
        at("may-early", datetime(2026, 5, 2, tzinfo=timezone.utc)),
        at("2025", datetime(2025, 3, 1, tzinfo=timezone.utc)),
        at("2023", datetime(2023, 3, 1, tzinfo=timezone.utc)),
    ]
    policy = GfsPolicy(keep_weekly=2, keep_monthly=2, keep_yearly=2)
    kept = gfs_keepers(entries, NOW, policy)
    assert kept["today"] == ["weekly 2026-W24", "monthly 2026-06", "yearly 2026"]
    assert kept["last-week"] == ["weekly 2026-W23"]
    assert kept["may"] == ["monthly 2026-05"]
    assert kept["2025"] == ["yearly 2025"]
    assert set(kept) == {"today", "last-week", "may", "2025"}
    decisions = decisions_by_id(entries, policy)
    assert {i for i, d in decisions.items() if d.delete} == {"mon", "may-early", "2023"}


def test_one_backup_can_keep_several_periods_and_environments_are_separate():
    entries = [at("prod", NOW, env="prod"), at("dev", NOW - timedelta(days=40), env="dev")]
    kept = gfs_keepers(entries, NOW, GfsPolicy(keep_daily=7, keep_monthly=3))
    assert kept == {"prod": ["daily 2026-06-10", "monthly 2026-06"], "dev": ["monthly 2026-05"]}


def test_min_keep_newest_valid_and_safety_backups_still_hold():
    entries = [
        at("newest", NOW - timedelta(days=400)),
        at("second", NOW - timedelta(days=401)),
        at("safety", NOW - timedelta(days=402), reason="pre-migration"),
        at("old-safety", NOW - timedelta(days=800), reason="pre-migration"),
        at("plain", NOW - timedelta(days=403)),
    ]
    decisions = decisions_by_id(entries, GfsPolicy(keep_daily=1), min_keep=2, safety_days=500)
    assert not decisions["newest"].delete and not decisions["second"].delete
    assert "min_keep" in decisions["newest"].reason
    assert not decisions["safety"].delete and "500 days" in decisions["safety"].reason
    assert decisions["old-safety"].delete and decisions["plain"].delete


def test_invalid_backups_keep_no_period_and_go():
    entries = [
        at("newest", NOW - timedelta(hours=1)),
        at("good", NOW - timedelta(days=1)),
        at("bad", NOW, status="invalid"),
    ]
    decisions = decisions_by_id(entries, GfsPolicy(keep_daily=7))
    assert decisions["good"].reason == "GFS: newest of daily 2026-06-09"
    assert decisions["bad"].delete and decisions["bad"].reason.startswith("marked invalid")


def test_year_boundary_weeks_follow_iso():
    new_year = datetime(2027, 1, 2, 12, tzinfo=timezone.utc)  # Saturday of ISO week 2026-W53
    entries = [at("sat", new_year), at("mon", datetime(2026, 12, 28, tzinfo=timezone.utc))]
    kept = gfs_keepers(entries, new_year, GfsPolicy(keep_weekly=1))
    assert kept == {"sat": ["weekly 2026-W53"]}


def test_policy_from_config():
    assert GfsPolicy.from_config(None) is None
    policy = GfsPolicy.from_config({"keep_daily": 7, "keep_yearly": 2})
    assert policy == GfsPolicy(7, 0, 0, 2) and policy.describe() == "daily 7, yearly 2"
