"""Which backups prune may delete: pure logic, unit-tested without files.

Rules: never the newest valid backup of an environment, never one of its
newest `min_keep` valid backups, never a safety backup (pre-migration,
pre-rollback...) younger than its minimum retention; otherwise everything
whose expires_at has passed or, with GFS retention (`backup.retention`, gfs.py),
everything that is not the newest valid backup of a kept day, week, month or year.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from faber_db.backup_manager.catalogue import BackupEntry
from faber_db.backup_manager.gfs import GfsPolicy, gfs_keepers, gfs_reason_to_delete
from faber_db.config import SAFETY_REASONS
from faber_db.timeutil import parse_utc


@dataclass(frozen=True)
class PruneDecision:
    """One backup and whether prune deletes it, with the reason."""

    entry: BackupEntry
    delete: bool | None  # None only inside plan_prune, before a policy decided
    reason: str


def plan_prune(
    entries: list[BackupEntry],
    now: datetime,
    min_keep: int,
    safety_days: int = 90,
    environment: str | None = None,
    gfs: GfsPolicy | None = None,
) -> list[PruneDecision]:
    """Decide, for each backup (of `environment` if given), whether prune deletes it:
    by expires_at, or by the GFS policy when one is given."""
    protected = _newest_valid_ids(entries, max(1, min_keep))
    keepers = gfs_keepers(entries, now, gfs) if gfs else {}
    decisions = []
    for entry in entries:
        if environment and entry.environment != environment:
            continue
        decision = _decide(entry, now, protected, safety_days)
        if gfs and decision.delete is None:
            decision = _decide_gfs(entry, now, gfs, keepers)
        elif decision.delete is None:
            decision = _decide_expiry(entry, now)
        decisions.append(decision)
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
    """The rules that hold under every policy; delete=None when none of them applies."""
    if entry.id in protected:
        return PruneDecision(entry, False, "among the newest valid backups kept by min_keep")
    age = now - parse_utc(entry.timestamp)
    if entry.reason in SAFETY_REASONS and age < timedelta(days=safety_days):
        return PruneDecision(
            entry, False, f"{entry.reason} backups are kept at least {safety_days} days"
        )
    return PruneDecision(entry, None, "")


def _decide_gfs(
    entry: BackupEntry, now: datetime, gfs: GfsPolicy, keepers: dict[str, list[str]]
) -> PruneDecision:
    if entry.id in keepers:
        return PruneDecision(entry, False, "GFS: newest of " + ", ".join(keepers[entry.id]))
    return PruneDecision(entry, True, gfs_reason_to_delete(entry, now, gfs))


def _decide_expiry(entry: BackupEntry, now: datetime) -> PruneDecision:
    if parse_utc(entry.expires_at) > now:
        return PruneDecision(entry, False, f"retained until {entry.expires_at}")
    return PruneDecision(entry, True, f"expired on {entry.expires_at}")
