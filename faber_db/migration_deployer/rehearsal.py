"""`faber-db migrate <env> --rehearse[=full|schema] [--rehearse-from <id>]` (issue 16).

1. The plan is read from the target exactly as `migrate --dry-run` reads it (no
   lock, no change): its plan_id is what a passing rehearsal vouches for.
2. Scratch databases of dead rehearsals (faber_rehearsal_<pid>_<host><rand>, only
   this machine's) are dropped.
3. The environment's newest valid backup (or the named one) is checked as a
   restore checks it and restored into a new scratch database through the engine's
   own restore path (Restorer.scratch_copy: PostgreSQL a new database, MySQL a new
   schema, SQLite a file in a private work directory). `schema` then empties its
   tables (the tracking table keeps its rows).
4. The pending migrations are applied there by the deployer itself (Deployment
   with the target swapped): same splitting, transactions, lock retries, timeouts
   and safety checks, without the environment's change lock, the backup and the
   approval that only the real target needs. Each statement's duration and rows
   changed are kept; on PostgreSQL also the relation locks the migration's
   transaction held before COMMIT (pg_locks) and the tables whose relfilenode
   changed (rewritten).
5. The scratch database is dropped whatever happens (finally; SIGTERM raises).
   The outcome is recorded (rehearsal_record.py) and reported; the target was
   only read.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from dataclasses import dataclass, field

from faber_db.approval import Approval
from faber_db.backup_manager import encryption
from faber_db.backup_manager.catalogue import BackupEntry, Catalogue
from faber_db.config import Config, Target
from faber_db.engines import engine_for
from faber_db.engines.base import Engine
from faber_db.engines.restorer import BackupSource, host_tag
from faber_db.errors import BackupNotFoundError, FaberError, MigrationFailedError
from faber_db.human_text import human_duration
from faber_db.migration_deployer import rehearsal_record
from faber_db.migration_deployer.apply import Applier, MigrationFailure
from faber_db.migration_deployer.deploy import Deployment, DeployOptions, migration_timeouts
from faber_db.migration_deployer.lock_retry import LockRetry
from faber_db.migration_deployer.lock_sampler import LockSampler
from faber_db.migration_deployer.plan import BackupDecision, PlannedMigration
from faber_db.migration_deployer.statements import database_errors
from faber_db.migration_deployer.tracking import TrackingTable
from faber_db.restore_lock import restorer_of
from faber_db.result import Progress, Result
from faber_db.rollback_manager.manager import check_backup
from faber_db.sql.split import Statement
from faber_db.timeutil import format_utc, utcnow
from faber_db.workspace import process_alive

PREFIX = "faber_rehearsal_"
NAME_RE = re.compile(r"^faber_rehearsal_(\d+)_([0-9a-f]{4})[0-9a-f]{6}$")
MODES = ("full", "schema")


@dataclass
class RehearsalOptions:
    """What `migrate --rehearse` was asked for."""

    mode: str = "full"
    backup_id: str | None = None
    no_backup: bool = False  # the real run's --no-backup: part of the plan rehearsed


def scratch_name() -> str:
    """faber_rehearsal_<pid>_<host><rand>: ours, recognisable, tied to this process."""
    return f"{PREFIX}{os.getpid()}_{host_tag()}{secrets.token_hex(3)}"


def stale_owner_gone(name: str) -> bool:
    """True for a rehearsal database of this machine whose process has ended."""
    match = NAME_RE.match(name)
    if match is None or match.group(2) != host_tag():
        return False
    return not process_alive(int(match.group(1)))


def drop_stale_scratch(engine: Engine) -> list[str]:
    """Drop rehearsal databases left by killed runs (only our prefix, dead pids)."""
    dropped = []
    for name in engine.databases_with_prefix(PREFIX):
        if stale_owner_gone(name):
            engine.drop_database(name)
            dropped.append(f"dropped {name}, left by an interrupted rehearsal")
    return dropped


def newest_backup(config: Config, target: Target, backup_id: str | None) -> BackupEntry:
    """The named backup, or the environment's newest valid one."""
    catalogue = Catalogue.for_config(config)
    if backup_id is not None:
        return catalogue.get(backup_id)
    valid = [
        e
        for e in catalogue.entries()
        if e.environment == target.environment and e.status == "valid"
    ]
    if not valid:
        raise BackupNotFoundError(
            f"{target.environment} has no valid backup to rehearse on. Nothing was changed.",
            suggestions=[
                f"faber-db backup {target.environment}",
                f"faber-db migrate {target.environment} --rehearse",
            ],
        )
    return max(valid, key=lambda e: e.timestamp)


def rehearse(
    config: Config, env: str, options: RehearsalOptions, progress: Progress | None = None
) -> Result:
    """Steps 1-5 of the module docstring; MigrationFailedError when a migration fails."""
    return Rehearsal(config, env, options, progress).run()


class Rehearsal:
    """One rehearsal: the target's plan, the backup, the scratch copy and the outcome."""

    def __init__(
        self, config: Config, env: str, options: RehearsalOptions, progress: Progress | None
    ) -> None:
        self.config = config
        self.target = config.resolve(env)
        self.engine = engine_for(self.target.conn)
        self.options = options
        self.progress = progress
        self.name = scratch_name()
        self.dropped = True
        self.warnings: list[str] = []

    def run(self) -> Result:
        """Plan, restore, apply, drop, record, report."""
        planned = self._target_plan()
        blocked = planned.exit_status is not None
        if blocked or planned.status != "dry_run" or not planned.result.get("pending"):
            return self._nothing_to_rehearse(planned)
        self.warnings += planned.warnings + drop_stale_scratch(self.engine)
        entry = newest_backup(self.config, self.target, self.options.backup_id)
        check_backup(self.config, entry, self.target)
        started = time.monotonic()
        scratch = ScratchRun(self.config, self.target.environment, self.progress)
        failure = self._in_scratch(entry, scratch)
        report = self._report(planned, entry, scratch, time.monotonic() - started, failure)
        self._check_coverage(planned.result["pending"], report)
        rehearsal_record.record_rehearsal(self.config, self.env, self._record(report))
        if failure is not None:
            raise self._failed(failure, report)
        return Result(
            operation="migrate",
            environment=self.env,
            result={"plan_id": report["plan_id"], "plan": planned.result["plan"]}
            | {"rehearsal": report, "target_unchanged": True},
            message=(
                ("Rehearsal passed" if report["passed"] else "Rehearsal did NOT cover the plan")
                + f": {len(scratch.applied)} migration(s) applied to a "
                f"{self.options.mode} copy of backup {entry.id} (taken {entry.timestamp}) in "
                f"{human_duration(report['duration_seconds'])}. {self.env} was not touched; "
                f"the scratch copy {self.name} was "
                + ("dropped." if report["scratch_dropped"] else "NOT dropped (see warnings).")
            ),
            warnings=self.warnings + scratch.warnings,
        )

    @property
    def env(self) -> str:
        """The environment name."""
        return self.target.environment

    def _target_plan(self) -> Result:
        """The plan `migrate` would run now, read as a dry run reads it."""
        options = DeployOptions(dry_run=True, no_backup=self.options.no_backup)
        return Deployment(self.config, self.env, options, Approval(), self.progress).run()

    def _nothing_to_rehearse(self, planned: Result) -> Result:
        if planned.status == "dry_run" and planned.exit_status is None:
            planned.message = f"Nothing to rehearse: {self.env} has no pending migrations."
        else:  # the safety policy blocks the plan: migrate would refuse it, so no rehearsal
            planned.message += " No rehearsal was run."
        planned.result["target_unchanged"] = True
        return planned

    def _in_scratch(self, entry: BackupEntry, scratch: ScratchRun) -> MigrationFailedError | None:
        path = Catalogue.for_config(self.config).backup_path(entry)
        source = BackupSource(entry, path, encryption.identity_for(self.config, entry))
        restorer = restorer_of(self.config, self.target, self.progress)
        self._notify(f"restoring {entry.id} into {self.name}")
        clock = time.monotonic()
        try:
            with restorer.scratch_copy(source, self.name) as copy:
                scratch.restore_seconds = time.monotonic() - clock
                if self.options.mode == "schema":
                    with copy.session() as db:
                        copy.empty_tables(db, self.config.migrations_table)
                try:
                    scratch.apply(copy)
                except MigrationFailedError as error:
                    return error
        except restorer.driver_errors as exc:
            raise FaberError(
                f"The rehearsal's scratch copy failed: {exc}. {self.env} was not touched."
            ) from None
        finally:
            self.warnings += self._check_dropped()
        return None

    def _check_coverage(self, pending: list[str], report: dict) -> None:
        """A backup older than the target's history makes the copy apply more than the
        plan (said in a warning); one newer leaves some of the plan unrehearsed, and then
        the rehearsal does not vouch for the plan."""
        rehearsed = [m["name"] for m in report["migrations"]]
        extra = [name for name in rehearsed if name not in pending]
        missing = [name for name in pending if name not in rehearsed]
        if extra:
            self.warnings.append(
                f"backup {report['backup_id']} predates {', '.join(extra)} (applied on "
                f"{self.env}): the copy applied them too"
            )
        if missing and report["passed"]:
            report["passed"] = False
            self.warnings.append(
                f"backup {report['backup_id']} already holds {', '.join(missing)}, pending on "
                f"{self.env}: they were not rehearsed, so this rehearsal does not count for "
                "the plan (rehearse on an older backup: --rehearse-from)"
            )

    def _check_dropped(self) -> list[str]:
        """A warning when the scratch database survived its drop (never raises: it runs
        in a finally, where the real error must not be replaced)."""
        if self.engine.file_database:
            return []
        try:
            self.dropped = not self.engine.database_exists(self.name)
        except (FaberError, *self.engine.error_types):
            self.dropped = False
        if self.dropped:
            return []
        return [
            f"the scratch database {self.name} may still be there: the next rehearsal drops "
            "it, or drop it by hand"
        ]

    def _report(self, planned, entry, scratch, total: float, failure) -> dict:
        return {
            "passed": failure is None,
            "mode": self.options.mode,
            "plan_id": planned.result["plan_id"],
            "backup_id": entry.id,
            "backup_taken_at": entry.timestamp,
            "scratch_database": self.name if not self.engine.file_database else "(temp file)",
            "scratch_dropped": self.dropped,
            "duration_seconds": round(scratch.migrate_seconds, 3),
            "restore_seconds": round(scratch.restore_seconds, 3),
            "total_seconds": round(total, 3),
            "migrations": scratch.reports,
        }

    def _record(self, report: dict) -> dict:
        keys = ("plan_id", "backup_id", "backup_taken_at", "passed", "mode", "duration_seconds")
        return {k: report[k] for k in keys} | {
            "taken_at": format_utc(utcnow()),
            "migrations": [m["name"] for m in report["migrations"]],
        }

    def _failed(self, error: MigrationFailedError, report: dict) -> MigrationFailedError:
        details = error.details.get("result", {})
        for key in ("rollback_command", "pre_migration_backup_id"):
            details.pop(key, None)
        first = error.message.split(" Left applied:")[0].rstrip(".")
        return MigrationFailedError(
            f"Rehearsal FAILED on a copy of backup {report['backup_id']}: {first}. "
            f"{self.env} was not touched; the scratch database was "
            + ("dropped." if report["scratch_dropped"] else "NOT dropped (see warnings)."),
            suggestions=[
                f"Fix {details.get('failed_migration', 'the migration')}'s migration.sql "
                "(it has not run anywhere but the copy), then: "
                f"faber-db migrate {self.env} --rehearse",
            ],
            details={"result": details | {"rehearsal": report, "target_unchanged": True}},
        )

    def _notify(self, message: str) -> None:
        if self.progress is not None:
            self.progress(message)


@dataclass
class StatementLog:
    """What each statement of the migration being applied did (the Applier's observer)."""

    engine: Engine
    db: object
    statements: dict[int, dict] = field(default_factory=dict)
    locks: dict[tuple, dict] = field(default_factory=dict)

    def __call__(self, statement: Statement, seconds: float, rows: int | None) -> None:
        self.statements[statement.index] = {
            "statement": statement.index + 1,
            "line": statement.line,
            "duration_seconds": round(seconds, 4),
            "rows_changed": rows,
        }
        # In a transaction the locks accumulate until COMMIT: what it holds now is what
        # the migration has taken so far (autocommit statements have released theirs:
        # lock_sampler.py watches those).
        for lock in self.engine.held_locks(self.db):
            self.locks[(lock["relation"], lock["mode"])] = lock


class ScratchRun(Deployment):
    """The deployer, bound to the scratch copy: plan, safety, apply, nothing else."""

    def __init__(self, config: Config, env: str, progress: Progress | None) -> None:
        super().__init__(config, env, DeployOptions(), Approval(), progress)
        self.reports: list[dict] = []
        self.restore_seconds = 0.0
        self.migrate_seconds = 0.0

    def apply(self, copy: Engine) -> None:
        """Apply the copy's pending migrations as migrate would (MigrationFailedError)."""
        self.target = Target(self.env, copy.conn, self.target.settings)
        self.engine = copy
        local = self._local_migrations()
        clock = time.monotonic()
        try:
            with copy.session() as db:
                history, planned = self._read_and_plan(db, local)
                self._assess_safety(db, planned, BackupDecision(False, "rehearsal"))
                self._refuse_blocked()
                tracking = TrackingTable(copy, db, self.table)
                with database_errors(copy, "applying on the scratch copy", MigrationFailedError):
                    if not history.table_present:
                        tracking.create()
                    self.warnings += copy.set_migration_timeouts(
                        db, *migration_timeouts(self.config, self.env)
                    )
                    self._rehearse_all(db, tracking, planned)
        finally:
            self.migrate_seconds = time.monotonic() - clock

    def _rehearse_all(self, db, tracking: TrackingTable, planned: list[PlannedMigration]) -> None:
        retry = LockRetry.from_config(self.config, self.env)
        for number, migration in enumerate(planned, 1):
            self._notify(f"rehearsing {migration.name} ({number}/{len(planned)})")
            log = StatementLog(self.engine, db)
            before = self.engine.relation_files(db)
            applier = Applier(self.engine, db, tracking, retry, on_statement=log)
            if migration.transactional:
                outcome = applier.apply(migration)
            else:
                with LockSampler(self.engine, db) as sampler:
                    outcome = applier.apply(migration)
                log.locks |= sampler.locks
            self.reports.append(self._migration_report(db, migration, outcome, log, before))
            if isinstance(outcome, MigrationFailure):
                raise self._failure_error(outcome)
            self.applied.append(outcome)

    def _migration_report(self, db, migration, outcome, log: StatementLog, before) -> dict:
        failed = isinstance(outcome, MigrationFailure)
        after = self.engine.relation_files(db)
        report = {
            "name": migration.name,
            "passed": not failed,
            "transaction": "transaction" if migration.transactional else "none",
            "duration_seconds": None if failed else round(outcome.duration_seconds, 4),
            "statements": [log.statements[i] for i in sorted(log.statements)],
            "rows_changed": sum(s["rows_changed"] or 0 for s in log.statements.values()),
            "locks": sorted(log.locks.values(), key=lambda x: (x["relation"], x["mode"])),
            "rewritten_tables": sorted(t for t in before if t in after and after[t] != before[t]),
        }
        if failed:
            report["failure"] = outcome.failure.to_dict()
        return report
