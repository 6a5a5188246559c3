"""The deploy plan: which migrations run, how (in a transaction or not, and
why), and whether a pre-migration backup is taken. The plan dict is
deterministic, so the plan_id a dry run shows is the one `--approve` accepts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from faber_db.config import Config, Target
from faber_db.engines.base import Engine
from faber_db.errors import InvalidInputError, PolicyBlockedError
from faber_db.migration_deployer.prisma_layout import Migration
from faber_db.migration_deployer.statements import summary
from faber_db.sql.split import Statement, leading_words, split_sql
from faber_db.sql.transactions import requires_no_transaction

TRANSACTION_CONTROL = {"BEGIN", "START", "COMMIT", "END", "ROLLBACK"}


@dataclass
class PlannedMigration:
    """One pending migration, split into statements, with its transaction mode."""

    migration: Migration
    statements: list[Statement]
    no_transaction_reasons: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The migration (folder) name."""
        return self.migration.name

    @property
    def transactional(self) -> bool:
        """True when it runs in one transaction with its tracking row."""
        return not self.no_transaction_reasons

    def to_dict(self) -> dict:
        """The plan entry: name, checksum, transaction mode, statements summarised."""
        return {
            "name": self.name,
            "checksum": self.migration.checksum,
            "transaction": "transaction" if self.transactional else "none",
            "no_transaction_reasons": self.no_transaction_reasons,
            "statements": len(self.statements),
            "steps": [
                {"statement": s.index + 1, "line": s.line, "sql": summary(s.text)}
                for s in self.statements
            ],
        }


@dataclass(frozen=True)
class BackupDecision:
    """Whether the deploy takes a pre-migration backup, and why."""

    take: bool
    why: str
    warnings: tuple[str, ...] = ()


def plan_migration(engine: Engine, migration: Migration, version: str) -> PlannedMigration:
    """Split a migration and decide whether it can run in a transaction."""
    statements = split_sql(migration.text(), engine.name)
    return PlannedMigration(
        migration, statements, no_transaction_reasons(engine, statements, version)
    )


def no_transaction_reasons(engine: Engine, statements: list[Statement], version: str) -> list[str]:
    """Why a migration cannot run in one transaction (empty when it can)."""
    if not engine.transactional_ddl:
        return [f"{engine.name} commits DDL implicitly: each statement commits on its own"]
    reasons = []
    for stmt in statements:
        where = f"statement {stmt.index + 1} (line {stmt.line})"
        reason = requires_no_transaction(stmt, engine.name, version_tuple(version))
        if reason:
            reasons.append(f"{where}: {reason}")
        elif is_transaction_control(stmt, engine.name):
            reasons.append(f"{where}: the script controls its own transaction")
    return reasons


def is_transaction_control(stmt: Statement, dialect: str) -> bool:
    """BEGIN, COMMIT, ROLLBACK ... at the top level (not MariaDB's BEGIN NOT ATOMIC)."""
    words = leading_words(stmt.text, dialect, limit=3)
    if not words or words[0] not in TRANSACTION_CONTROL:
        return False
    if words[0] == "START":
        return words[1:2] == ["TRANSACTION"]
    # BEGIN NOT ATOMIC is a MariaDB compound statement; ROLLBACK TO a savepoint
    # stays inside the transaction.
    return words[:2] not in (["BEGIN", "NOT"], ["ROLLBACK", "TO"])


def version_tuple(version: str) -> tuple[int, ...] | None:
    """'15.20' -> (15, 20); '10.11.19-MariaDB' -> (10, 11, 19)."""
    match = re.match(r"\d+(?:\.\d+)*", version or "")
    return tuple(int(part) for part in match.group(0).split(".")) if match else None


def decide_backup(
    config: Config, target: Target, no_backup: bool, auto_rollback: bool
) -> BackupDecision:
    """Apply the environment's backup policy to --no-backup and auto-rollback."""
    env = target.environment
    enforcement = config.backup_enforcement(env)
    wanted = []
    if target.settings.get("backup_before_migrate"):
        wanted.append(f"backup_before_migrate is true for {env}")
    if enforcement in ("required", "recommended"):
        wanted.append(f"backup enforcement for {env} is {enforcement}")
    if auto_rollback:
        wanted.append("automatic rollback restores it if a migration fails")
    if no_backup:
        return _skipped_backup(env, enforcement, wanted)
    if not wanted:
        return BackupDecision(False, f"not required for {env}: backup enforcement is {enforcement}")
    return BackupDecision(True, "; ".join(wanted))


def _skipped_backup(env: str, enforcement: str, wanted: list[str]) -> BackupDecision:
    if enforcement == "required":
        raise PolicyBlockedError(
            f"--no-backup is refused: backups before migrations are required for {env}. "
            "Nothing was changed.",
            suggestions=[f"faber-db migrate {env}  (takes the pre-migration backup)"],
        )
    warnings = ()
    if wanted:
        warnings = (f"No pre-migration backup (--no-backup) although {wanted[0]}.",)
    return BackupDecision(False, "skipped with --no-backup", warnings)


def check_auto_rollback(requested: bool, no_backup: bool) -> None:
    """--auto-rollback restores the pre-migration backup, so it needs one."""
    if requested and no_backup:
        raise InvalidInputError(
            "--auto-rollback restores the pre-migration backup, so it cannot be combined "
            "with --no-backup.",
        )


def deploy_plan(
    target: Target,
    engine: Engine,
    table: str,
    planned: list[PlannedMigration],
    backup: BackupDecision,
    create_table: bool,
    auto_rollback: bool,
) -> dict:
    """The plan dict that is shown, hashed into a plan_id and approved."""
    return {
        "operation": "migrate",
        "environment": target.environment,
        "engine": engine.name,
        "database": target.conn.redacted(),
        "tracking_table": table,
        "create_tracking_table": create_table,
        "migrations": [p.to_dict() for p in planned],
        "backup": {"take": backup.take, "reason": "pre-migration", "why": backup.why},
        "auto_rollback": auto_rollback and backup.take,
    }
