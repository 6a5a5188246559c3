"""Which backups prune may delete: pure logic, unit-tested without files.

Rules: never the newest valid backup of an environment, never one of its
newest `min_keep` valid backups, never a safety backup (pre-migration,
pre-rollback...) younger than its minimum retention; otherwise everything
whose expires_at has passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from faber_db.backup_manager.catalogue import BackupEntry
from faber_db.config import SAFETY_REASONS
from faber_db.timeutil import parse_utc


@dataclass(frozen=True)
class PruneDecision:
    """One backup and whether prune deletes it, with the reason."""

    entry: BackupEntry
    delete: bool
    reason: str


def plan_prune(
    entries: list[BackupEntry],
    now: datetime,
    min_keep: int,
    safety_days: int = 90,
    environment: str | None = None,
) -> list[PruneDecision]:
    """Decide, for each backup (of `environment` if given), whether prune deletes it."""
    protected = _newest_valid_ids(entries, max(1, min_keep))
    decisions = []
    for entry in entries:
        if environment and entry.environment != environment:
            continue
        decisions.append(_decide(entry, now, protected, safety_days))
    return decisions


def _newest_valid_ids(entries: list[BackupEntry], keep: int) -> set[str]:
    by_env: dict[str, list[BackupEntry]] = {}
    for entry in entries:
        if entry.status == "valid":
            by_env.setdefault(entry.environment, []).append(entry)
    kept: set[str] = set()
    for env_entries in by_env.values():
        env_entries.sort(key=lambda e: (e.timestamp, e.id), reverse=True)
        kept.update(e.id for e in env_entries[:keep])
    return kept


def _decide(
    entry: BackupEntry, now: datetime, protected: set[str], safety_days: int
) -> PruneDecision:
    if entry.id in protected:
        return PruneDecision(entry, False, "among the newest valid backups kept by min_keep")
    age = now - parse_utc(entry.timestamp)
    if entry.reason in SAFETY_REASONS and age < timedelta(days=safety_days):
        return PruneDecision(
            entry, False, f"{entry.reason} backups are kept at least {safety_days} days"
        )
    if parse_utc(entry.expires_at) > now:
        return PruneDecision(entry, False, f"retained until {entry.expires_at}")
    return PruneDecision(entry, True, f"expired on {entry.expires_at}")
