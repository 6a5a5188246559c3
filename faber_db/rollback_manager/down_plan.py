"""What a rollback by down migrations would do, decided before anything changes:
the applied migrations newer than --to (newest first), their down files, and what
those down files drop, with live row counts from the safety analysis.

Nothing here writes to a database.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from faber_db.config import Config, Target
from faber_db.engines.base import Engine
from faber_db.errors import InvalidInputError
from faber_db.migration_deployer import prisma_layout as prisma
from faber_db.migration_deployer.history import diagnose
from faber_db.migration_deployer.plan import no_transaction_reasons, version_tuple
from faber_db.migration_deployer.statements import database_errors
from faber_db.migration_deployer.tracking import TrackingTable
from faber_db.sql.split import Statement, split_sql

# Findings whose rows are lost when the down file runs: the data-loss figure.
LOSS_RULES = ("drop_table", "drop_column", "truncate", "truncate_cascade", "delete_without_where")


@dataclass
class DownStep:
    """One applied migration to undo, with its down file (None when it has none)."""

    name: str
    row_ids: list[str]
    migration: prisma.Migration | None
    down: prisma.Migration | None
    statements: list[Statement] = field(default_factory=list)
    no_transaction_reasons: list[str] = field(default_factory=list)

    @property
    def transactional(self) -> bool:
        """True when the down file and the removal of the tracking row commit together."""
        return not self.no_transaction_reasons

    @property
    def down_sha256(self) -> str | None:
        """sha256 of down.sql: the approval covers exactly these bytes."""
        return hashlib.sha256(self.down.script).hexdigest() if self.down else None

    def to_dict(self) -> dict:
        """The plan entry of this step."""
        return {
            "name": self.name,
            "down_file": self.down is not None,
            "down_sha256": self.down_sha256,
            "statements": len(self.statements),
            "transaction": "transaction" if self.transactional else "none",
            "no_transaction_reasons": self.no_transaction_reasons,
        }


@dataclass
class DownPlan:
    """The steps of a rollback by down files and what they lose."""

    target: Target
    to_migration: str
    steps: list[DownStep]
    findings: list = field(default_factory=list)
    server_version: str = ""
    database_empty: bool = False
    unavailable: str | None = None  # why no down plan could be made at all

    @property
    def names(self) -> list[str]:
        """The migrations undone, newest first."""
        return [step.name for step in self.steps]

    @property
    def missing_down_files(self) -> list[str]:
        """Migrations to undo that have no down.sql (or are not in the directory)."""
        return [step.name for step in self.steps if step.down is None]

    @property
    def available(self) -> bool:
        """True when every migration to undo has a down file."""
        return self.unavailable is None and not self.missing_down_files

    def why_unavailable(self) -> str:
        """Why the down strategy cannot be used (empty when it can)."""
        if self.unavailable is not None:
            return self.unavailable
        missing = self.missing_down_files
        return f"no down file for {', '.join(missing)}" if missing else ""

    def losses(self) -> list[dict]:
        """What the down files drop or empty, with the live row count (None: unknown)."""
        return [
            {
                "migration": f.migration,
                "rule": f.rule,
                "object": f.object,
                "table": f.table,
                "columns": list(f.columns),
                "rows": (f.impact or {}).get("rows"),
                "rows_lost": (f.impact or {}).get("rows_with_values", (f.impact or {}).get("rows")),
            }
            for f in self.findings
            if f.rule in LOSS_RULES
        ]

    def rows_lost(self) -> int | None:
        """Rows whose values the down files drop (a dropped column counts its rows that
        hold a value); None when a count is unknown."""
        counts = [loss["rows_lost"] for loss in self.losses()]
        return None if any(c is None for c in counts) else sum(counts)

    def summary(self) -> dict:
        """The down column of the dry run's comparison."""
        return {
            "available": self.available,
            "reason": self.why_unavailable() or None,
            "migrations_to_undo": self.names,
            "missing_down_files": self.missing_down_files,
            "drops": self.losses(),
            "rows_lost": self.rows_lost(),
            "findings": [f.to_dict() for f in self.findings],
        }


def plan_down(config: Config, target: Target, engine: Engine, db, to_migration: str) -> DownPlan:
    """The down plan back to `to_migration` on the connected database `db`."""
    prisma.check_tracked_name(to_migration)
    directory = config.migrations_dir
    prisma.check_provider(directory, engine.prisma_provider)
    local = prisma.list_migrations(directory, config.max_migration_bytes)
    with database_errors(engine, "reading the tracking table"):
        rows = TrackingTable(engine, db, config.migrations_table).read()
        version = engine.server_version(db)
        empty = not engine.list_tables(db)
    from faber_db.migration_deployer.deploy import refuse_blocked_history

    refuse_blocked_history(diagnose(local, rows), target.environment)
    applied = [r for r in rows or [] if r.finished_at is not None and r.rolled_back_at is None]
    names = list(dict.fromkeys(r.migration_name for r in applied))
    if to_migration not in names:
        raise _not_applied(target, to_migration, names)
    by_name = {m.name: m for m in local}
    steps = []
    for name in reversed(names[names.index(to_migration) + 1 :]):
        row_ids = [r.id for r in applied if r.migration_name == name]
        steps.append(_step(engine, version, name, row_ids, by_name.get(name)))
    plan = DownPlan(target, to_migration, steps, server_version=version, database_empty=empty)
    plan.findings = _analyse(config, engine, db, steps, version)
    return plan


def _step(engine: Engine, version: str, name: str, row_ids, migration) -> DownStep:
    down = migration.down() if migration is not None else None
    step = DownStep(name, row_ids, migration, down)
    if down is not None:
        step.statements = split_sql(down.text(), engine.name)
        step.no_transaction_reasons = no_transaction_reasons(engine, step.statements, version)
    return step


def _analyse(config: Config, engine: Engine, db, steps: list[DownStep], version: str) -> list:
    """The safety rules over each down file, with live impact (rows dropped)."""
    from faber_db.safety_validator import analyze_script, estimate_impact
    from faber_db.safety_validator.live_probe import LiveProbe

    findings = []
    for step in steps:
        if step.down is not None:
            label = f"{step.name}/{prisma.DOWN_FILE}"
            findings += analyze_script(step.down.text(), engine.name, label, version_tuple(version))
    probe = LiveProbe(engine, db)
    estimate_impact(findings, probe)
    for finding in findings:
        if finding.rule == "drop_column" and finding.impact is not None:
            finding.impact["rows_with_values"] = _rows_with_values(finding, probe)
    return findings


def _rows_with_values(finding, probe) -> int | None:
    """Rows whose dropped column holds a value (NULLs lose nothing); None when unknown."""
    rows = finding.impact.get("rows")
    if rows is None or not finding.columns:
        return rows
    nulls = [probe.null_count(finding.table, column) for column in finding.columns]
    if any(n is None for n in nulls):
        return None
    return rows - min(nulls)


def _not_applied(target: Target, to_migration: str, names: list[str]) -> InvalidInputError:
    env = target.environment
    shown = ", ".join(names[-5:]) or "none"
    return InvalidInputError(
        f"--to {to_migration}: not an applied migration of {env} (the last applied: {shown}). "
        "Nothing was changed.",
        suggestions=[f"faber-db status {env}"],
    )
