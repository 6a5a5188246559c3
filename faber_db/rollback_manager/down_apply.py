"""Run the down files of a DownPlan, newest first, each with its tracking rows
removed: in the same transaction where the engine allows it (PostgreSQL, SQLite),
right after its statements where DDL commits itself (MySQL/MariaDB, or a down
file PostgreSQL cannot run in a transaction). A failure stops the run and raises
DownMigrationFailedError naming what was undone, what stayed applied, and what
to run next.
"""

from __future__ import annotations

import time
from contextlib import suppress

from faber_db.engines.base import Engine
from faber_db.errors import DownMigrationFailedError
from faber_db.migration_deployer.statements import StatementFailure, run_statements, summary
from faber_db.migration_deployer.tracking import TrackingTable
from faber_db.rollback_manager.down_plan import DownPlan, DownStep


class DownRunner:
    """Applies the down steps of one plan on one connection."""

    def __init__(self, engine: Engine, db, tracking: TrackingTable, plan: DownPlan) -> None:
        self.engine = engine
        self.db = db
        self.tracking = tracking
        self.plan = plan
        self.undone: list[dict] = []

    def run(self, safety_backup_id: str | None) -> list[dict]:
        """Undo every step; return what was done, or raise DownMigrationFailedError."""
        for step in self.plan.steps:
            started = time.monotonic()
            failure = self._in_transaction(step) if step.transactional else self._one_by_one(step)
            if failure is not None:
                raise self._error(step, failure, safety_backup_id)
            self.undone.append(
                {
                    "name": step.name,
                    "statements": len(step.statements),
                    "transaction": "transaction" if step.transactional else "none",
                    "duration_seconds": round(time.monotonic() - started, 4),
                }
            )
        return self.undone

    def _in_transaction(self, step: DownStep) -> StatementFailure | None:
        try:
            self.engine.begin(self.db, step.statements)
        except self.engine.error_types as exc:  # SQLite: the write lock was not free
            code, message = self.engine.describe_error(exc)
            return _whole_step_failure(step, "(BEGIN)", code, message, at_end=False)
        try:
            failure = run_statements(self.engine, self.db, step.statements)
            failure = failure or self._commit_problem(step)
            if failure is None:
                self._remove_rows(step)
                self.engine.commit(self.db)
                return None
        except BaseException:
            with suppress(*self.engine.error_types):
                self.engine.rollback(self.db)
            raise
        self.engine.rollback(self.db)
        return failure

    def _commit_problem(self, step: DownStep) -> StatementFailure | None:
        problem = self.engine.commit_problem(self.db)
        if problem is None:
            return None
        return _whole_step_failure(step, "(check before COMMIT)", None, problem, at_end=True)

    def _one_by_one(self, step: DownStep) -> StatementFailure | None:
        failure = run_statements(self.engine, self.db, step.statements)
        if failure is not None:
            with suppress(*self.engine.error_types):
                self.engine.rollback(self.db)  # a script that opened its own transaction
            return failure
        self._remove_rows(step)
        return None

    def _remove_rows(self, step: DownStep) -> None:
        for row_id in step.row_ids:
            self.tracking.delete_started(row_id)

    # -- the failure -----------------------------------------------------------------
    def _error(
        self, step: DownStep, failure: StatementFailure, safety_id: str | None
    ) -> DownMigrationFailedError:
        env = self.plan.target.environment
        done = [u["name"] for u in self.undone]
        still = [s.name for s in self.plan.steps if s.name not in done]
        left = _left_of_failed(step, failure)
        code = f"[{failure.code}] " if failure.code else ""
        message = (
            f"The down file of {step.name} failed at statement {failure.number} of "
            f"{failure.total} (line {failure.line} of down.sql): {code}"
            f"{failure.message.rstrip('.')}. Statement: {summary(failure.sql, 160)}. "
            f"{left} Undone in this run (now pending): {', '.join(done) or 'none'}. "
            f"Still applied: {', '.join(still)} (and {self.plan.to_migration} before them). "
            + (f"Safety backup: {safety_id}." if safety_id else "No safety backup was taken.")
        )
        suggestions = [
            f"Fix {step.name}/down.sql, then: faber-db rollback {env} --to "
            f"{self.plan.to_migration} --strategy down --dry-run",
        ]
        if safety_id:
            suggestions.append(
                f"Or put back the state before this rollback: faber-db restore {env} --from {safety_id}"
            )
        if not step.transactional and failure.number > 1:
            suggestions.append(
                f"Statements 1-{failure.number - 1} of {step.name}/down.sql stayed applied: "
                "undo them by hand, or restore the safety backup"
            )
        suggestions.append(f"faber-db status {env}")
        details = {
            "undone": list(self.undone),
            "failed_migration": step.name,
            "statement": failure.to_dict(),
            "left_applied": {
                "migrations": still,
                "rolled_back": step.transactional,
                "down_statements_committed": 0 if step.transactional else failure.number - 1,
            },
            "safety_backup_id": safety_id,
        }
        return DownMigrationFailedError(
            message, suggestions=suggestions, details={"result": details}
        )


def _whole_step_failure(
    step: DownStep, sql: str, code, message: str, at_end: bool
) -> StatementFailure:
    """A failure of the step's transaction itself (its BEGIN or its check before COMMIT)."""
    total = len(step.statements)
    at = step.statements[-1 if at_end else 0] if step.statements else None
    return StatementFailure(
        number=max(total, 1) if at_end else 1,
        total=total,
        line=at.line if at else 1,
        end_line=at.end_line if at else 1,
        sql=sql,
        code=code,
        message=message,
    )


def _left_of_failed(step: DownStep, failure: StatementFailure) -> str:
    if step.transactional:
        return (
            f"Its transaction was rolled back: {step.name} is still applied, exactly as before "
            "its down file ran, and its tracking row stays."
        )
    if failure.number == 1:
        return f"No statement of its down file had committed: {step.name} is still applied."
    return (
        f"Statements 1-{failure.number - 1} of its down file had committed (no transaction): "
        f"{step.name} is half undone and still recorded as applied."
    )
