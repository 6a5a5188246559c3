"""Prune never deletes the newest valid backups or young safety backups."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from faber_db.backup_manager.catalogue import BackupEntry
from faber_db.backup_manager.retention import plan_prune
from faber_db.timeutil import format_utc

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)


def entry(
    backup_id: str, days_old: int, retention: int = 30, env="prod", reason="manual", status="valid"
) -> BackupEntry:
    created = NOW - timedelta(days=days_old)
    return BackupEntry(
        id=backup_id,
        environment=env,
        engine="sqlite",
        database="x",
        timestamp=format_utc(created),
        label=None,
        reason=reason,
        file=f"{backup_id}.zst",
        size_bytes=1,
        compressed=True,
        compression="zstd",
        format="custom",
        sha256="0" * 64,
        duration_seconds=1,
        tool_version="",
        server_version="",
        migrations={"applied_count": 0, "last_migration": None, "migrations_list": []},
        retention_days=retention,
        expires_at=format_utc(created + timedelta(days=retention)),
        status=status,
        verification={},
        manifest={
            "tables": {},
            "schema_fingerprint": "sha256:" + "0" * 64,
            "row_counts_exact": True,
        },
    )


def deleted(decisions) -> set[str]:
    return {d.entry.id for d in decisions if d.delete}


def test_expired_backups_beyond_min_keep_are_deleted():
    entries = [entry(f"b{i}", days_old=100 - i) for i in range(6)]  # all expired
    assert deleted(plan_prune(entries, NOW, min_keep=3)) == {"b0", "b1", "b2"}


def test_newest_valid_backup_survives_even_with_min_keep_one():
    entries = [
        entry("old", 200),
        entry("newest", 150),
        entry("broken", 10, status="invalid", retention=1),
    ]
    assert deleted(plan_prune(entries, NOW, min_keep=1)) == {"old", "broken"}


def test_failed_backups_never_count_towards_min_keep():
    entries = [entry("good", 300)] + [
        entry(f"bad{i}", 1, retention=1, status="invalid") for i in range(5)
    ]
    assert "good" not in deleted(plan_prune(entries, NOW, min_keep=1))


def test_safety_backups_kept_ninety_days():
    entries = [
        entry("a", 1),
        entry("b", 2),
        entry("c", 3),
        entry("safety", 60, retention=1, reason="pre-rollback"),
    ]
    assert "safety" not in deleted(plan_prune(entries, NOW, min_keep=1))
    entries[-1] = entry("safety", 91, retention=1, reason="pre-rollback")
    assert "safety" in deleted(plan_prune(entries, NOW, min_keep=1))


def test_environments_are_independent_and_filterable():
    entries = [
        entry("p1", 100),
        entry("p2", 99),
        entry("d1", 100, env="dev"),
        entry("d2", 99, env="dev"),
    ]
    assert deleted(plan_prune(entries, NOW, min_keep=1)) == {"p1", "d1"}
    assert deleted(plan_prune(entries, NOW, min_keep=1, environment="dev")) == {"d1"}
