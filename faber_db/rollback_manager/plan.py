"""What a restore or rollback will do, decided before anything is touched: the
backup chosen, the state of the target now, the migrations that will be
removed, the data that will be lost or added, and the plan a person approves."""

from __future__ import annotations

from dataclasses import dataclass, field

from faber_db.backup_manager.catalogue import BackupEntry, Catalogue
from faber_db.backup_manager.remote.publish import is_remote_verified
from faber_db.config import Target
from faber_db.errors import BackupNotFoundError
from faber_db.human_text import human_duration
from faber_db.timeutil import parse_utc, utcnow

SAFETY_REASONS = {"rollback": "pre-rollback", "restore": "pre-restore"}


@dataclass
class RestoreRequest:
    """What the person asked for."""

    operation: str  # "restore" or "rollback"
    environment: str
    backup_id: str | None = None
    to_migration: str | None = None
    into: str | None = None
    dry_run: bool = False
    safety_backup: bool = True
    # rollback only: the strategy chosen (covered by the plan_id), and the side-by-side
    # comparison of restore and down that led to it (shown, not hashed).
    strategy: str | None = None
    strategies: dict | None = None


@dataclass
class CurrentState:
    """The target as it is now."""

    exists: bool
    tables: dict[str, int] = field(default_factory=dict)
    migrations: list[str] | None = None  # applied migrations; None without a tracking table
    fingerprints: dict[str, str] = field(default_factory=dict)  # table -> schema fingerprint

    @property
    def empty(self) -> bool:
        """Nothing to lose: no database, or no tables."""
        return not self.exists or not self.tables


@dataclass
class RestorePlan:
    """A resolved restore: which backup goes where, and what changes."""

    request: RestoreRequest
    environment_database: str
    target: Target
    entry: BackupEntry
    current: CurrentState
    safety_backup: bool
    notes: list[str] = field(default_factory=list)

    @property
    def target_database(self) -> str:
        """The database that will be overwritten."""
        return self.target.conn.database

    @property
    def migrations_removed(self) -> list[str]:
        """Applied now, absent in the backup: the migrations this rolls back."""
        kept = set(self.entry.migrations.get("migrations_list", []))
        return [name for name in self.current.migrations or [] if name not in kept]

    @property
    def migrations_restored(self) -> list[str]:
        """In the backup, not applied now (the backup is newer than the database)."""
        now = set(self.current.migrations or [])
        return [
            name for name in self.entry.migrations.get("migrations_list", []) if name not in now
        ]

    def approval_plan(self) -> dict:
        """The deterministic plan whose hash a person approves (no counts: they drift)."""
        return {
            "operation": self.request.operation,
            "environment": self.request.environment,
            "engine": self.target.engine,
            "database": self.environment_database,
            "target_database": self.target_database,
            "backup": {"id": self.entry.id, "sha256": self.entry.sha256},
            "safety_backup": self.safety_backup,
            "migrations_to_remove": self.migrations_removed,
        } | ({"strategy": self.request.strategy} if self.request.strategy else {})

    def table_changes(self) -> list[dict]:
        """Each table's row count and schema now against at backup time."""
        before, after = self.current.tables, self.entry.manifest.get("tables", {})
        then = self.entry.manifest.get("table_fingerprints")
        changes = []
        for table in sorted(set(before) | set(after)):
            change = _table_change(table, before.get(table), after.get(table))
            if change["now"] is not None and change["at_backup"] is not None:
                change["schema"] = _schema_change(self.current.fingerprints.get(table), then, table)
                if change["schema"] == "differs":
                    change["change"] += "; schema differs (restored as it was)"
            changes.append(change)
        return changes

    def backup_summary(self) -> dict:
        """The backup chosen and its age."""
        age = (utcnow() - parse_utc(self.entry.timestamp)).total_seconds()
        return {
            "id": self.entry.id,
            "environment": self.entry.environment,
            "database": self.entry.database,
            "timestamp": self.entry.timestamp,
            "age_seconds": int(age),
            "age": human_duration(age),
            "reason": self.entry.reason,
            "label": self.entry.label,
            "last_migration": self.entry.migrations.get("last_migration"),
            "sha256": self.entry.sha256,
        }

    def details(self) -> dict:
        """Everything a dry run shows."""
        return {
            "backup": self.backup_summary(),
            "target_database": self.target_database,
            "target_exists": self.current.exists,
            "migrations_to_remove": self.migrations_removed,
            "migrations_to_restore": self.migrations_restored,
            "tables": self.table_changes(),
            "safety_backup": self.safety_backup,
            "notes": list(self.notes),
        } | ({"strategies": self.request.strategies} if self.request.strategies else {})


def _table_change(table: str, now: int | None, at_backup: int | None) -> dict:
    if now is None:
        change = "absent now; restored"
    elif at_backup is None:
        change = "created after the backup; removed"
    else:
        diff = at_backup - now
        change = "same row count" if diff == 0 else f"{diff:+d} rows"
    return {"table": table, "now": now, "at_backup": at_backup, "change": change}


def _schema_change(now: str | None, then: dict[str, str] | None, table: str) -> str:
    """'same', 'differs', or 'unknown' (a backup taken before per-table fingerprints)."""
    if then is None or now is None or table not in then:
        return "unknown"
    return "same" if then[table] == now else "differs"


def rollback_candidates(
    entries: list[BackupEntry], target: Target, to_migration: str | None, catalogue: Catalogue
) -> list[BackupEntry]:
    """Usable backups of the target, newest first.

    Pre-rollback safety backups are left out: restoring one undoes a rollback,
    which a person asks for explicitly with --from. So are entries whose file is
    missing (unless the remote repository holds a verified copy) or outside the
    environment's backups folder.
    """
    matching = [
        e
        for e in entries
        if e.environment == target.environment
        and e.engine == target.engine
        and e.database == target.conn.database
        and e.status == "valid"
        and e.reason not in SAFETY_REASONS.values()
        and catalogue.path_problem(e) is None
        and (catalogue.backup_path(e).exists() or is_remote_verified(e))
        and (to_migration is None or e.migrations.get("last_migration") == to_migration)
    ]
    return sorted(matching, key=lambda e: (e.timestamp, e.id), reverse=True)


def choose_rollback_backup(
    entries: list[BackupEntry], target: Target, to_migration: str | None, catalogue: Catalogue
) -> BackupEntry:
    """The newest usable backup (ending at `to_migration` when given)."""
    candidates = rollback_candidates(entries, target, to_migration, catalogue)
    if candidates:
        return candidates[0]
    env = target.environment
    wanted = f" whose last migration is {to_migration}" if to_migration else ""
    raise BackupNotFoundError(
        f"No valid backup of {env} ({target.engine} database '{target.conn.database}'){wanted}"
        " to roll back to (pre-rollback and pre-restore safety backups are not chosen"
        f" automatically).{_other_databases(entries, target)} Nothing was changed.",
        suggestions=[f"faber-db backups list {env}", f"faber-db rollback {env} --from <backup-id>"],
    )


def _other_databases(entries: list[BackupEntry], target: Target) -> str:
    """Where the environment's valid backups are of another database than its URL names
    now (the URL changed, or the backups came from another engine): say which."""
    others = sorted(
        {
            f"{e.engine} database '{e.database}'"
            for e in entries
            if e.environment == target.environment
            and e.status == "valid"
            and (e.engine, e.database) != (target.engine, target.conn.database)
        }
    )
    if not others:
        return ""
    return f" The valid backups of {target.environment} are of {', '.join(others)}."
