"""Apply one planned migration and record it in the tracking table.

* In a transaction (PostgreSQL, SQLite): the statements and the tracking row
  commit together. On failure everything rolls back, then the failed row is
  recorded on its own (finished_at NULL, logs = the error), as Prisma shows it.
* Without one (MySQL, whose DDL commits implicitly, or a script PostgreSQL
  refuses to run in a transaction): the row is inserted first, the statements
  run one by one, and the row records success or the error honestly, naming
  the statements that had already committed.

A lock timeout (lock_retry.py) is retried: a transaction rolls back and the
whole migration runs again; without a transaction the run resumes at the
statement that timed out (its row stays, applied_steps_count counts the
migration once). When the retries are spent nothing of the migration is left
(without a transaction: unless earlier statements had committed, which the
failure then names) and the tracking table is as before.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field

from faber_db.engines.base import Engine
from faber_db.migration_deployer import lock_retry
from faber_db.migration_deployer.lock_retry import BlockerWatch, LockRetry
from faber_db.migration_deployer.plan import PlannedMigration
from faber_db.migration_deployer.statements import StatementFailure, run_statements, summary
from faber_db.migration_deployer.tracking import TrackingTable
from faber_db.sql.split import Statement
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
    # A lock timeout whose retries were spent: how many tries, who blocked it, and
    # what was cleaned up after it (an INVALID index dropped).
    tries: int = 1
    blockers: list[dict] = field(default_factory=list)
    cleaned_up: list[str] = field(default_factory=list)

    @property
    def lock_timeout(self) -> bool:
        """True when the migration gave up waiting for a lock."""
        return self.failure.lock_timeout

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


StatementObserver = Callable[[Statement, float, "int | None"], None]


class Applier:
    """Applies planned migrations on one connection, recording each one."""

    def __init__(
        self,
        engine: Engine,
        db,
        tracking: TrackingTable,
        retry: LockRetry | None = None,
        on_statement: StatementObserver | None = None,
    ) -> None:
        self.engine = engine
        self.db = db
        self.tracking = tracking
        self.retry = retry or LockRetry(retries=0)
        self.on_statement = on_statement
        self.retries_taken = 0  # over the whole run, for the result

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

    # -- in one transaction --------------------------------------------------------
    def _in_transaction(self, planned: PlannedMigration) -> MigrationFailure | None:
        migration, started = planned.migration, utcnow()
        tries, blockers = 0, []
        while True:
            tries += 1
            with self._watch(tries) as watch:
                failure = self._try_transaction(planned, started)
            if failure is None:
                return None
            blockers = watch.blockers or blockers
            if not failure.lock_timeout:
                result = MigrationFailure(migration.name, failure, rolled_back=True)
                self.tracking.insert_failed(
                    migration.name, migration.checksum, started, result.logs()
                )
                return result
            if tries > self.retry.retries:
                # Nothing recorded: the schema and the tracking table are as before.
                return MigrationFailure(
                    migration.name, failure, rolled_back=True, tries=tries, blockers=blockers
                )
            self._pause(tries)

    def _try_transaction(self, planned: PlannedMigration, started) -> StatementFailure | None:
        """One try; on failure the transaction is rolled back and nothing is recorded."""
        migration = planned.migration
        failure = self._begin(planned)
        if failure is not None:
            return failure
        try:
            row_id = self.tracking.record_started(migration.name, migration.checksum, started)
            failure = run_statements(
                self.engine, self.db, planned.statements, on_statement=self.on_statement
            )
            failure = failure or self._commit_problem(planned)
            if failure is None:
                self.tracking.record_success(row_id)
                self.engine.commit(self.db)
                return None
        except BaseException:
            self._rollback_quietly()
            raise
        self.engine.rollback(self.db)
        return failure

    def _begin(self, planned: PlannedMigration) -> StatementFailure | None:
        """BEGIN; SQLite's BEGIN IMMEDIATE is where it waits for the write lock."""
        try:
            self.engine.begin(self.db, planned.statements)
        except self.engine.error_types as exc:
            if not self.engine.is_lock_timeout(exc):
                raise
            code, message = self.engine.describe_error(exc)
            return _whole_migration_failure(
                planned,
                at_end=False,
                sql="(BEGIN: waiting for the database's write lock)",
                code=code,
                message=message,
                lock_timeout=True,
            )
        return None

    def _commit_problem(self, planned: PlannedMigration) -> StatementFailure | None:
        problem = self.engine.commit_problem(self.db)
        if problem is None:
            return None
        return _whole_migration_failure(
            planned, at_end=True, sql="(check before COMMIT)", code=None, message=problem
        )

    # -- statement by statement ----------------------------------------------------
    def _statement_by_statement(self, planned: PlannedMigration) -> MigrationFailure | None:
        migration = planned.migration
        row_id = self.tracking.record_started(migration.name, migration.checksum)
        start, tries, blockers, cleaned = 0, 0, [], []
        while True:
            tries += 1
            try:
                with self._watch(tries) as watch:
                    failure = run_statements(
                        self.engine,
                        self.db,
                        planned.statements,
                        start=start,
                        on_statement=self.on_statement,
                    )
            except BaseException:
                self._record_interrupted(row_id)
                raise
            if failure is None:
                self.tracking.record_success(row_id)
                return None
            blockers = watch.blockers or blockers
            # A script that opened its own transaction may have left it open and aborted.
            self._rollback_quietly()
            cleaned += self._clean_up(planned.statements[failure.number - 1])
            if failure.lock_timeout and tries <= self.retry.retries:
                start = failure.number - 1  # resume at the statement that timed out
                self._pause(tries)
                continue
            return self._record_statement_failure(
                planned, row_id, failure, tries, blockers, cleaned
            )

    def _record_statement_failure(
        self, planned, row_id, failure, tries, blockers, cleaned
    ) -> MigrationFailure:
        migration = planned.migration
        committed = [
            {"statement": s.index + 1, "line": s.line, "sql": summary(s.text)}
            for s in planned.statements[: failure.number - 1]
        ]
        result = MigrationFailure(
            migration.name,
            failure,
            rolled_back=False,
            committed=committed,
            tries=tries,
            blockers=blockers,
            cleaned_up=cleaned,
        )
        if failure.lock_timeout and not committed:
            # Nothing of it ran: leave the tracking table as it was before.
            self.tracking.delete_started(row_id)
        else:
            self.tracking.record_failure(row_id, result.logs())
        return result

    def _clean_up(self, statement: Statement) -> list[str]:
        with suppress(*self.engine.error_types):
            return self.engine.clean_up_failed_statement(
                self.db, statement.text, self.retry.lock_wait
            )
        return []

    # -- lock retries --------------------------------------------------------------
    def _watch(self, tries: int):
        """Watch for blockers on retries (the first try runs unwatched: the usual case
        takes no extra connection)."""
        if tries == 1 and self.retry.retries > 0:
            return _NoWatch()
        return BlockerWatch(self.engine, self.db, delay=(self.retry.lock_wait or 2.0) / 2)

    def _pause(self, tries: int) -> None:
        self.retries_taken += 1
        lock_retry.sleep(self.retry.pause(tries))

    def _record_interrupted(self, row_id: str) -> None:
        with suppress(*self.engine.error_types):
            self._rollback_quietly()
            self.tracking.record_failure(
                row_id, "Interrupted while running; some statements may have committed."
            )

    def _rollback_quietly(self) -> None:
        with suppress(*self.engine.error_types):
            self.engine.rollback(self.db)


class _NoWatch:
    """A BlockerWatch that watches nothing."""

    blockers: list[dict] = []

    def __enter__(self) -> _NoWatch:
        return self

    def __exit__(self, *exc) -> None:
        return None


def _whole_migration_failure(
    planned: PlannedMigration,
    *,
    at_end: bool,
    sql: str,
    code: str | None,
    message: str,
    lock_timeout: bool = False,
) -> StatementFailure:
    """A failure of the migration's transaction itself (its BEGIN or its check before
    COMMIT), placed at its first or last statement."""
    statements = planned.statements
    at = (statements[-1] if at_end else statements[0]) if statements else None
    return StatementFailure(
        number=len(statements) if at_end else 1,
        total=len(statements),
        line=at.line if at else 1,
        end_line=at.end_line if at else 1,
        sql=sql,
        code=code,
        message=message,
        lock_timeout=lock_timeout,
    )
