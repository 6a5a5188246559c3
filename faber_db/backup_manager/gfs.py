"""GFS (grandfather-father-son) retention: pure logic, unit-tested without files.

`backup.retention` {keep_daily, keep_weekly, keep_monthly, keep_yearly} keeps, per
environment, the newest valid backup of each of the last N calendar days, ISO weeks,
months and years (UTC), counted back from now and including the current one. The
rules that protect backups whatever the policy (min_keep, the newest valid backup,
safety backups younger than safety_retention_days) are applied by retention.py first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from faber_db.backup_manager.catalogue import BackupEntry
from faber_db.timeutil import parse_utc


@dataclass(frozen=True)
class GfsPolicy:
    """How many days, weeks, months and years keep their newest backup."""

    keep_daily: int = 0
    keep_weekly: int = 0
    keep_monthly: int = 0
    keep_yearly: int = 0

    @classmethod
    def from_config(cls, section: dict | None) -> GfsPolicy | None:
        """The policy of `backup.retention`; None when it is not configured."""
        if not section:
            return None
        return cls(**{key: int(section.get(key, 0)) for key in PERIODS})

    def describe(self) -> str:
        """'daily 7, weekly 4, monthly 12, yearly 2' (the periods in use)."""
        counts = [(PERIODS[key][0], getattr(self, key)) for key in PERIODS]
        return ", ".join(f"{name} {n}" for name, n in counts if n) or "no periods"


def _day(when: date) -> tuple[str, int]:
    return when.isoformat(), when.toordinal()


def _week(when: date) -> tuple[str, int]:
    year, week, _ = when.isocalendar()
    monday = date.fromisocalendar(year, week, 1)
    return f"{year}-W{week:02d}", monday.toordinal() // 7


def _month(when: date) -> tuple[str, int]:
    return f"{when.year}-{when.month:02d}", when.year * 12 + when.month - 1


def _year(when: date) -> tuple[str, int]:
    return str(when.year), when.year


# key -> (rule name, the period of a date: (label, ordinal counting periods))
PERIODS: dict[str, tuple[str, Callable[[date], tuple[str, int]]]] = {
    "keep_daily": ("daily", _day),
    "keep_weekly": ("weekly", _week),
    "keep_monthly": ("monthly", _month),
    "keep_yearly": ("yearly", _year),
}


def gfs_keepers(
    entries: list[BackupEntry], now: datetime, policy: GfsPolicy
) -> dict[str, list[str]]:
    """Backup id -> the GFS rules that keep it ('daily 2026-06-01', ...): the newest
    valid backup of each period in the policy's windows, per environment."""
    kept: dict[str, list[str]] = {}
    today = now.date()
    for env_entries in _valid_by_environment(entries).values():
        for key, (name, period_of) in PERIODS.items():
            count = getattr(policy, key)
            if count <= 0:
                continue
            current = period_of(today)[1]
            seen: set[str] = set()
            for entry in env_entries:  # newest first: the first of a period is its newest
                label, ordinal = period_of(parse_utc(entry.timestamp).date())
                if label in seen or current - ordinal >= count:
                    continue
                seen.add(label)
                kept.setdefault(entry.id, []).append(f"{name} {label}")
    return kept


def gfs_reason_to_delete(entry: BackupEntry, now: datetime, policy: GfsPolicy) -> str:
    """Why GFS lets `entry` go (it keeps no period)."""
    if entry.status != "valid":
        return f"marked {entry.status}; GFS keeps only valid backups"
    when, today = parse_utc(entry.timestamp).date(), now.date()
    for key, (name, period_of) in PERIODS.items():
        count = getattr(policy, key)
        label, ordinal = period_of(when)
        if count > 0 and period_of(today)[1] - ordinal < count:
            return f"GFS: a newer backup of {label} keeps that {_unit(name)}"
    return f"GFS: outside every kept period ({policy.describe()})"


def _unit(rule: str) -> str:
    return {"daily": "day", "weekly": "week", "monthly": "month", "yearly": "year"}[rule]


def _valid_by_environment(entries: list[BackupEntry]) -> dict[str, list[BackupEntry]]:
    by_env: dict[str, list[BackupEntry]] = {}
    for entry in entries:
        if entry.status == "valid":
            by_env.setdefault(entry.environment, []).append(entry)
    for env_entries in by_env.values():
        env_entries.sort(key=lambda e: (e.timestamp, e.id), reverse=True)
    return by_env
