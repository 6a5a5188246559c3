"""Compare the migrations directory with the tracking table, the way Prisma's
diagnose_migration_history does: applied, pending, failed, modified and
missing-from-directory migrations. Pure logic, no database access.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from faber_db.engines.base import TrackedMigration
from faber_db.migration_deployer.prisma_layout import Migration


@dataclass(frozen=True)
class MigrationStatus:
    """One migration's state: applied, pending, failed, modified or missing."""

    name: str
    state: str
    checksum: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    logs: str | None = None

    def to_dict(self) -> dict:
        """JSON form (None fields left out)."""
        return {k: v for k, v in vars(self).items() if v is not None}


@dataclass
class History:
    """The directory and the tracking table side by side."""

    local: list[Migration]
    rows: list[TrackedMigration] | None
    applied: list[str] = field(default_factory=list)
    pending: list[Migration] = field(default_factory=list)
    failed: list[TrackedMigration] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def table_present(self) -> bool:
        """True when the tracking table exists."""
        return self.rows is not None

    @property
    def problems(self) -> bool:
        """Failed, modified or missing-from-directory migrations."""
        return bool(self.failed or self.modified or self.missing)

    def statuses(self) -> list[MigrationStatus]:
        """Every migration once, in directory order, then those only the database knows."""
        active = {r.migration_name: r for r in self.rows or [] if r.rolled_back_at is None}
        failed = {r.migration_name for r in self.failed}
        out = [self._status(m.name, m.checksum, active.get(m.name), failed) for m in self.local]
        out += [self._status(name, None, active.get(name), failed) for name in self.missing]
        return out

    def _status(self, name, file_checksum, row, failed) -> MigrationStatus:
        if name in failed:
            state = "failed"
        elif name in self.missing:
            state = "missing"
        elif name in self.modified:
            state = "modified"
        else:
            state = "applied" if row is not None else "pending"
        return MigrationStatus(
            name=name,
            state=state,
            checksum=file_checksum or (row.checksum if row else None),
            started_at=format_moment(row.started_at) if row else None,
            finished_at=format_moment(row.finished_at) if row else None,
            logs=row.logs if row is not None and state == "failed" else None,
        )


def diagnose(local: list[Migration], rows: list[TrackedMigration] | None) -> History:
    """Classify every migration as Prisma does (rows in started_at order)."""
    history = History(local=local, rows=rows)
    active = [r for r in rows or [] if r.rolled_back_at is None]
    by_name: dict[str, list[TrackedMigration]] = {}
    for row in active:
        by_name.setdefault(row.migration_name, []).append(row)
    folders = {m.name: m for m in local}
    history.failed = [r for r in active if r.finished_at is None]
    for migration in local:
        finished = [r for r in by_name.get(migration.name, []) if r.finished_at is not None]
        if migration.name not in by_name:
            history.pending.append(migration)
        elif finished:
            history.applied.append(migration.name)
            if not any(migration.matches(r.checksum) for r in finished):
                history.modified.append(migration.name)
    history.missing = [
        n for n in dict.fromkeys(r.migration_name for r in active) if n not in folders
    ]
    return history


def format_moment(value: object) -> str | None:
    """A tracking-table timestamp as ISO 8601 UTC with milliseconds.

    Prisma stores SQLite timestamps as epoch milliseconds; the server engines
    return datetimes (naive ones are UTC).
    """
    if value is None:
        return None
    if isinstance(value, (int, float)):
        value = datetime.fromtimestamp(value / 1000, timezone.utc)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return (
            value.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        )
    return str(value)
