"""Apply one planned migration and record it in the tracking table.

* In a transaction (PostgreSQL, SQLite): the statements and the tracking row
  commit together. On failure everything rolls back, then the failed row is
  recorded on its own (finished_at NULL, logs = the error), as Prisma shows it.
* Without one (MySQL, whose DDL commits implicitly, or a script PostgreSQL
  refuses to run in a transaction): the row is inserted first, the statements
  run one by one, and the row records success or the error honestly, naming
  the statements that had already committed.
"""

from __future__ import annotations

import time
from contextlib import suppress
from dataclasses import dataclass, field

from faber_db.engines.base import Engine
from faber_db.migration_deployer.plan import PlannedMigration
from faber_db.migration_deployer.statements import StatementFailure, run_statements, summary
from faber_db.migration_deployer.tracking import TrackingTable
from faber_db.timeutil import utcnow


@dataclass(frozen=True)
class AppliedMigration:
    """A migration that was applied, and how long it took."""

    name: str
    statements: int
    transactional: bool
    duration_seconds: float

    def to_dict(self) -> dict:
        """JSON form."""
        return {
            "name": self.name,
            "statements": self.statements,
            "transaction": "transaction" if self.transactional else "none",
            "duration_seconds": round(self.duration_seconds, 4),
        }


@dataclass
class MigrationFailure:
    """A migration that failed: where, why, and what it left applied."""

    name: str
    failure: StatementFailure
    rolled_back: bool
    committed: list[dict] = field(default_factory=list)

    def left_applied(self) -> str:
        """Plain words for what of this migration stayed in the database."""
        if self.rolled_back:
            return "its transaction was rolled back, so none of its statements were applied"
        if not self.committed:
            return "none of its statements had committed"
        first, last = self.committed[0], self.committed[-1]
        if first is last:
            span = f"statement {first['statement']} (line {first['line']})"
        else:
            span = (
                f"statements {first['statement']}-{last['statement']} "
                f"(lines {first['line']}-{last['line']})"
            )
        return f"{span} had committed and stayed applied (no transaction)"

    def logs(self) -> str:
        """The text stored in the tracking row's logs column."""
        f = self.failure
        return (
            f"Migration {self.name} failed at {f.where()}.\n"
            f"Database error code: {f.code or 'none'}\n"
            f"Database error:\n{f.message}\n\n"
            f"Statement:\n{f.sql}\n\n"
            f"Left applied: {self.left_applied()}.\n"
        )


class Applier:
    """Applies planned migrations on one connection, recording each one."""

    def __init__(self, engine: Engine, db, tracking: TrackingTable) -> None:
        self.engine = engine
        self.db = db
        self.tracking = tracking

    def apply(self, planned: PlannedMigration) -> AppliedMigration | MigrationFailure:
        """Run one migration; return what was applied or how it failed."""
        clock = time.monotonic()
        if planned.transactional:
            failure = self._in_transaction(planned)
        else:
            failure = self._statement_by_statement(planned)
        if failure is not None:
            return failure
        return AppliedMigration(
            planned.name,
            len(planned.statements),
            planned.transactional,
            time.monotonic() - clock,
        )

    def _in_transaction(self, planned: PlannedMigration) -> MigrationFailure | None:
        migration, started = planned.migration, utcnow()
        self.engine.begin(self.db, planned.statements)
        try:
            row_id = self.tracking.record_started(migration.name, migration.checksum, started)
            failure = run_statements(self.engine, self.db, planned.statements)
            failure = failure or self._commit_problem(planned)
            if failure is None:
                self.tracking.record_success(row_id)
                self.engine.commit(self.db)
                return None
        except BaseException:
            self._rollback_quietly()
            raise
        self.engine.rollback(self.db)
        result = MigrationFailure(migration.name, failure, rolled_back=True)
        self.tracking.insert_failed(migration.name, migration.checksum, started, result.logs())
        return result

    def _commit_problem(self, planned: PlannedMigration) -> StatementFailure | None:
        problem = self.engine.commit_problem(self.db)
        if problem is None:
            return None
        last = planned.statements[-1] if planned.statements else None
        return StatementFailure(
            number=len(planned.statements),
            total=len(planned.statements),
            line=last.line if last else 1,
            end_line=last.end_line if last else 1,
            sql="(check before COMMIT)",
            code=None,
            message=problem,
        )

    def _statement_by_statement(self, planned: PlannedMigration) -> MigrationFailure | None:
        migration = planned.migration
        row_id = self.tracking.record_started(migration.name, migration.checksum)
        try:
            failure = run_statements(self.engine, self.db, planned.statements)
        except BaseException:
            self._record_interrupted(row_id)
            raise
        if failure is None:
            self.tracking.record_success(row_id)
            return None
        # A script that opened its own transaction may have left it open and aborted.
        self._rollback_quietly()
        committed = [
            {"statement": s.index + 1, "line": s.line, "sql": summary(s.text)}
            for s in planned.statements[: failure.number - 1]
        ]
        result = MigrationFailure(migration.name, failure, rolled_back=False, committed=committed)
        self.tracking.record_failure(row_id, result.logs())
        return result

    def _record_interrupted(self, row_id: str) -> None:
        with suppress(*self.engine.error_types):
            self._rollback_quietly()
            self.tracking.record_failure(
                row_id, "Interrupted while running; some statements may have committed."
            )

    def _rollback_quietly(self) -> None:
        with suppress(*self.engine.error_types):
            self.engine.rollback(self.db)
