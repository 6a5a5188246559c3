"""`faber-db migrate <env>`: deploy pending Prisma migrations safely.

The flow (issue 4): take the environment's change lock (environment_lock.py:
the engine's deploy lock plus a file lock, shared with resolve, restore and
rollback), connect and re-read the tracking table under it; refuse failed or edited history; plan the pending
migrations; stop at a dry run; ask for approval on protected environments;
take the pre-migration backup the policy asks for; apply each migration
(recorded as Prisma records it); on failure stop, report and optionally
restore the backup; finally check the connection and the tracking table.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from faber_db.approval import Approval
from faber_db.backup_manager.catalogue import BackupEntry
from faber_db.backup_manager.create import BackupOptions, take_backup
from faber_db.backup_manager.remote.required import refuse_without_remote_copy
from faber_db.config import Config
from faber_db.engines import engine_for
from faber_db.environment_lock import lock_environment
from faber_db.errors import (
    FaberError,
    LockTimeoutError,
    MigrationFailedError,
    MigrationStateError,
    PolicyBlockedError,
)
from faber_db.exit_codes import ExitStatus
from faber_db.health_checker.health import pre_deploy_check
from faber_db.human_text import human_duration
from faber_db.migration_deployer import prisma_layout as prisma
from faber_db.migration_deployer import rehearsal_record
from faber_db.migration_deployer.apply import AppliedMigration, Applier, MigrationFailure
from faber_db.migration_deployer.history import History, diagnose
from faber_db.migration_deployer.lock_retry import LockRetry, lock_wait_seconds
from faber_db.migration_deployer.plan import (
    BackupDecision,
    PlannedMigration,
    check_auto_rollback,
    decide_backup,
    deploy_plan,
    plan_migration,
)
from faber_db.migration_deployer.statements import database_errors, summary
from faber_db.migration_deployer.tracking import TrackingTable
from faber_db.plans import approval_gate, plan_id
from faber_db.result import Progress, Result
from faber_db.rollback_manager.manager import restore_entry
from faber_db.safety_validator.check import SafetyReport, assess


@dataclass
class DeployOptions:
    """What the user asked `migrate` for."""

    dry_run: bool = False
    no_backup: bool = False
    auto_rollback: bool = False


def deploy(
    config: Config,
    env: str,
    options: DeployOptions | None = None,
    approval: Approval | None = None,
    progress: Progress | None = None,
) -> Result:
    """`faber-db migrate <env>`: apply the pending migrations (see the module docstring)."""
    return Deployment(
        config, env, options or DeployOptions(), approval or Approval(), progress
    ).run()


def migration_timeouts(config: Config, env: str | None = None) -> tuple[float | None, float | None]:
    """(migrations.timeout_seconds, migrations.lock_wait_seconds); None when not set,
    except the lock wait of a protected environment (2 s: lock_retry.py)."""
    section = config.section("migrations")
    lock_wait = section.get("lock_wait_seconds") if env is None else lock_wait_seconds(config, env)
    return section.get("timeout_seconds"), lock_wait


def auto_rollback_attempts(config: Config, requested: bool) -> int:
    """How many times to try restoring the pre-migration backup after a failure (0 = never)."""
    configured = int(config.section("safety").get("max_auto_rollback_attempts", 0) or 0)
    return max(configured, 1) if requested else configured


class Deployment:
    """One `migrate` run: its target, choices and what it has done so far."""

    def __init__(
        self,
        config: Config,
        env: str,
        options: DeployOptions,
        approval: Approval,
        progress: Progress | None,
    ) -> None:
        self.config = config
        self.target = config.resolve(env)
        self.engine = engine_for(self.target.conn)
        self.options = options
        self.approval = approval
        self.progress = progress
        self.table = config.migrations_table
        self.rollback_attempts = auto_rollback_attempts(config, options.auto_rollback)
        self.warnings = list(config.warnings)
        self.backup_entry: BackupEntry | None = None
        self.applied: list[AppliedMigration] = []
        self.plan: dict = {}
        self.safety = SafetyReport()
        self.server_version = ""
        self.started = time.monotonic()

    @property
    def env(self) -> str:
        """The environment name."""
        return self.target.environment

    # -- the flow -----------------------------------------------------------------
    def run(self) -> Result:
        """Steps 1-11; raises a FaberError on refusal or failure."""
        check_auto_rollback(self.options.auto_rollback, self.options.no_backup)
        local = self._local_migrations()
        decision = decide_backup(
            self.config, self.target, self.options.no_backup, self.rollback_attempts > 0
        )
        self.warnings += decision.warnings
        if self.options.no_backup and self.rollback_attempts and not self.options.auto_rollback:
            self.warnings.append("Automatic rollback is off for this run: --no-backup.")
        if self.options.dry_run:
            with self.engine.session() as db:
                return self._dry_run(db, local, decision)
        health = self._health_gate()
        # The environment's lock is held until the automatic rollback is over, so no
        # other change can slip in between the failure and the restore.
        with lock_environment(self.config, self.target, self.progress):
            try:
                with self.engine.session() as db:
                    result = self._deploy_locked(db, local, decision)
            except MigrationFailedError as error:
                self._auto_rollback(error)
                raise
        if health is not None:
            result.result["pre_deploy_health"] = health
        if self.applied and self.config.section("safety").get("health_check_after_deploy", True):
            result.result["post_deploy"] = self._post_deploy_check()
        return result

    def _health_gate(self) -> dict | None:
        """safety.health_check_before_deploy: the quick health checks, before anything
        is locked or changed; a failing one stops the deploy (HealthFailedError)."""
        if not self.config.section("safety").get("health_check_before_deploy", False):
            return None
        if self.progress:
            self.progress("health check")
        return pre_deploy_check(self.config, self.env, self.warnings)

    def _local_migrations(self) -> list[prisma.Migration]:
        directory = self.config.migrations_dir
        if not directory.is_dir():
            self.warnings.append(f"No migrations directory at {directory} (migrations.directory).")
        prisma.check_provider(directory, self.engine.prisma_provider)
        return prisma.list_migrations(directory, self.config.max_migration_bytes)

    def _dry_run(self, db, local, decision: BackupDecision) -> Result:
        history, planned = self._read_and_plan(db, local)
        decision = self._assess_safety(db, planned, decision)
        self.plan = self._plan_dict(history, planned, decision)
        self.plan["plan_id"] = plan_id(self.plan)
        rehearsed = self._show_rehearsal(
            rehearsal_record.passing_rehearsal(self.config, self.env, self.plan["plan_id"])
        )
        names = [p.name for p in planned]
        result = Result(
            operation="migrate",
            status="dry_run",
            environment=self.env,
            result={"plan": self.plan, "plan_id": self.plan["plan_id"], "pending": names},
            message=(
                f"Dry run: {len(names)} migration(s) would be applied to {self.env}"
                + (", after a pre-migration backup" if decision.take and names else "")
                + f". {rehearsed}Nothing was changed."
            ),
            warnings=self.warnings,
        )
        if self.safety.blocked:
            result.message += " The safety policy BLOCKS it: " + self.safety.blocked_message()
            result.exit_status = ExitStatus.BLOCKED_BY_POLICY
        return result

    def _assess_safety(self, db, planned, decision: BackupDecision) -> BackupDecision:
        """Run the safety validator; return the backup decision the policy leaves."""
        self.safety = assess(
            self.config,
            self.env,
            self.engine,
            db,
            [p.migration for p in planned],
            self.server_version,
        )
        if self.safety.decision is not None:
            self.warnings += self.safety.decision.warnings
        if not (self.safety.decision and self.safety.decision.require_backup) or decision.take:
            return decision
        if self.options.no_backup:
            raise PolicyBlockedError(
                "--no-backup is refused: the safety policy requires a backup before these "
                f"migrations ({self._backup_rules()}). Nothing was changed.",
                suggestions=[f"faber-db migrate {self.env}  (takes the pre-migration backup)"],
            )
        return BackupDecision(
            True, f"the safety policy requires a backup before {self._backup_rules()}"
        )

    def _backup_rules(self) -> str:
        return (
            ", ".join(
                sorted(
                    {f.rule for f in self.safety.findings if f.severity in ("danger", "blocked")}
                )
            )
            or "these changes"
        )

    def _refuse_blocked(self) -> None:
        if self.safety.blocked:
            raise PolicyBlockedError(
                "The safety policy blocks this deploy, whatever the approval: "
                f"{self.safety.blocked_message()}. Nothing was changed.",
                suggestions=[
                    f"faber-db check {self.env}  (the full report)",
                    "Change the migration, or run the blocked statement by hand outside faber-db",
                ],
                details={"result": {"plan": self.plan, "plan_id": self.plan.get("plan_id")}},
            )

    def _deploy_locked(self, db, local, decision: BackupDecision) -> Result:
        history, planned = self._read_and_plan(db, local)
        decision = self._assess_safety(db, planned, decision)
        self.plan = self._plan_dict(history, planned, decision)
        if not planned:
            self.plan["plan_id"] = plan_id(self.plan)
            return self._result(f"{self.env} is up to date: no pending migrations.", history)
        self.plan["plan_id"] = plan_id(self.plan)
        self._refuse_blocked()
        rehearsed = self._show_rehearsal(
            rehearsal_record.check_required(self.config, self.env, self.plan["plan_id"])
        )
        enhanced = self.safety.decision.enhanced_objects if self.safety.decision else []
        gate = approval_gate(self.config, self.env, "migrate", self.plan, self.approval, enhanced)
        if gate is not None:
            gate.message += f" {rehearsed}".rstrip()
            gate.warnings = self.warnings + gate.warnings
            return gate
        if decision.take:
            self._take_backup()
        tracking = TrackingTable(self.engine, db, self.table)
        with database_errors(self.engine, "recording migrations", MigrationFailedError):
            if not history.table_present:
                tracking.create()
            self.warnings += self.engine.set_migration_timeouts(
                db, *migration_timeouts(self.config, self.env)
            )
            retry = LockRetry.from_config(self.config, self.env)
            self._apply_all(Applier(self.engine, db, tracking, retry), planned)
        applying = sum(a.duration_seconds for a in self.applied)
        total = time.monotonic() - self.started
        backup = f", {human_duration(total - applying)} of it the backup" if decision.take else ""
        return self._result(
            f"Applied {len(self.applied)} migration(s) to {self.env} "
            f"({self.engine.name} {self.target.conn.redacted()}) in {human_duration(total)}"
            f"{backup}.",
            history,
        )

    def _show_rehearsal(self, record: dict | None) -> str:
        """Put the plan's passing rehearsal under display (outside the plan_id);
        return the sentence for the message ('' when there is none)."""
        if record is None:
            return ""
        text = rehearsal_record.describe(record)
        self.plan.setdefault("display", {})["rehearsal"] = record | {"text": text}
        return text[0].upper() + text[1:] + ". "

    def _read_and_plan(self, db, local) -> tuple[History, list[PlannedMigration]]:
        with database_errors(self.engine, "reading the tracking table"):
            tracking = TrackingTable(self.engine, db, self.table)
            history = diagnose(local, tracking.read())
            if not history.table_present and history.pending:
                self._refuse_non_empty(db, history)
            version = self.engine.server_version(db)
            self.server_version = version
        refuse_blocked_history(history, self.env)
        if history.missing:
            self.warnings.append(
                "In the database but not in the migrations directory: "
                + ", ".join(history.missing)
                + " (is this checkout older than the database?)"
            )
        return history, [plan_migration(self.engine, m, version) for m in history.pending]

    def _refuse_non_empty(self, db, history: History) -> None:
        tables = [t for t in self.engine.list_tables(db) if t.rsplit(".", 1)[-1] != self.table]
        if not tables:
            return
        first = history.local[0].name
        raise MigrationStateError(
            f"{self.env} already holds {len(tables)} table(s) ({', '.join(tables[:5])}) but no "
            f"{self.table} table, so faber-db cannot tell which migrations it has (Prisma P3005). "
            "Nothing was changed. Baseline it: mark the migrations that are already in the "
            "schema as applied.",
            suggestions=[
                f"faber-db resolve {self.env} --applied {first}",
                f"faber-db status {self.env}",
            ],
        )

    def _plan_dict(self, history, planned, decision: BackupDecision) -> dict:
        take = decision.take and bool(planned)
        decision = BackupDecision(take, decision.why if planned else "nothing to apply")
        plan = deploy_plan(
            self.target,
            self.engine,
            self.table,
            planned,
            decision,
            create_table=not history.table_present and bool(planned),
            auto_rollback=self.rollback_attempts > 0,
        )
        # What is approved: the rules and the policy's demands. Live impact figures
        # are shown under "display", outside the plan_id (they drift as data changes).
        plan["safety"] = self.safety.plan_part()
        plan["display"] = {"safety": self.safety.to_dict()}
        return plan

    def _take_backup(self) -> None:
        self._notify("taking the pre-migration backup")
        options = BackupOptions(reason="pre-migration", label="pre-migration")
        try:
            entry, warnings = take_backup(self.config, self.target, options, self.progress)
        except FaberError as error:
            error.message = (
                f"Pre-migration backup failed: {error.message} No migration was applied."
            )
            raise
        self.backup_entry = entry
        self.warnings += warnings
        refuse_without_remote_copy(self.config, entry)

    def _apply_all(self, applier: Applier, planned: list[PlannedMigration]) -> None:
        for number, migration in enumerate(planned, 1):
            self._notify(f"applying {migration.name} ({number}/{len(planned)})")
            outcome = applier.apply(migration)
            if isinstance(outcome, MigrationFailure):
                raise self._failure_error(outcome)
            self.applied.append(outcome)

    # -- results ------------------------------------------------------------------
    def _result(self, message: str, history: History) -> Result:
        return Result(
            operation="migrate",
            environment=self.env,
            result=self._result_fields()
            | {"already_applied": len(history.applied), "plan": self.plan},
            message=message,
            warnings=self.warnings,
        )

    def _result_fields(self) -> dict:
        backup_id = self.backup_entry.id if self.backup_entry else None
        return {
            "plan_id": self.plan.get("plan_id"),
            "migrations_applied": [a.name for a in self.applied],
            "applied": [a.to_dict() for a in self.applied],
            "pre_migration_backup_id": backup_id,
        }

    def _failure_error(self, outcome: MigrationFailure) -> FaberError:
        if outcome.lock_timeout:
            return self._lock_timeout_error(outcome)
        failure, backup_id = outcome.failure, self._backup_id()
        code = f"[{failure.code}] " if failure.code else ""
        earlier = [a.name for a in self.applied]
        message = (
            f"Migration {outcome.name} failed at {failure.where()}: {code}"
            f"{failure.message.rstrip('.')}. Statement: {summary(failure.sql, 160)}. "
            f"Left applied: {outcome.left_applied()}"
            + (f"; earlier in this run: {', '.join(earlier)}" if earlier else "")
            + ". Later migrations were not run. "
            + (f"Pre-migration backup: {backup_id}." if backup_id else "No pre-migration backup.")
        )
        result = self._result_fields() | {
            "failed_migration": outcome.name,
            "statement": failure.to_dict(),
            "left_applied": {
                "migrations": earlier,
                "statements": outcome.committed,
                "rolled_back": outcome.rolled_back,
            },
        }
        if backup_id:
            result["rollback_command"] = f"faber-db rollback {self.env} --from {backup_id}"
        return MigrationFailedError(
            message,
            suggestions=failure_suggestions(self.env, outcome.name, backup_id, outcome.rolled_back),
            details={"result": result},
        )

    def _lock_timeout_error(self, outcome: MigrationFailure) -> LockTimeoutError:
        """Retries spent on a lock: name the blockers and what stayed as it was."""
        failure, earlier = outcome.failure, [a.name for a in self.applied]
        wait = lock_wait_seconds(self.config, self.env)
        waited = f"{wait:g} s each" if wait is not None else "the server's lock timeout each"
        blockers = outcome.blockers
        named = "; ".join(describe_blocker(b) for b in blockers[:5]) or (
            "faber-db could not see which session (it had ended, or it is not visible to "
            "this database user)"
        )
        message = (
            f"Migration {outcome.name} could not get its lock at {failure.where()}: tried "
            f"{outcome.tries} time(s), waiting {waited}, so no query queued behind it for "
            f"longer. Blocked by: {named}. Left applied: {outcome.left_applied()}"
            + (f"; earlier in this run: {', '.join(earlier)}" if earlier else "")
            + ". Later migrations were not run."
            + (" " + "; ".join(outcome.cleaned_up) + "." if outcome.cleaned_up else "")
        )
        result = self._result_fields() | {
            "failed_migration": outcome.name,
            "statement": failure.to_dict(),
            "lock_timeout": {
                "tries": outcome.tries,
                "lock_wait_seconds": wait,
                "blockers": blockers,
                "cleaned_up": outcome.cleaned_up,
            },
            "left_applied": {
                "migrations": earlier,
                "statements": outcome.committed,
                "rolled_back": outcome.rolled_back,
            },
        }
        suggestions = [
            f"End or wait for the blocking session(s) ({self.engine.end_session_command(blockers[0]['pid'])}), "
            f"then: faber-db migrate {self.env}"
            if blockers and blockers[0].get("pid") is not None
            else f"Find the long transaction on {self.env}, end it, then: faber-db migrate {self.env}",
            "Deploy when traffic is lower, or raise migrations.lock_retries / lock_wait_seconds",
        ]
        if outcome.committed:
            suggestions += resolve_suggestions(self.env, outcome.name)
        return LockTimeoutError(message, suggestions=suggestions, details={"result": result})

    def _backup_id(self) -> str | None:
        return self.backup_entry.id if self.backup_entry else None

    # -- after the run ------------------------------------------------------------
    def _post_deploy_check(self) -> dict:
        self._notify("checking the database after the deploy")
        with (
            database_errors(self.engine, "checking the database after the deploy"),
            self.engine.session() as db,
        ):
            version = self.engine.server_version(db)
            rows = TrackingTable(self.engine, db, self.table).read() or []
        finished = {r.migration_name for r in rows if r.finished_at and r.rolled_back_at is None}
        failed = [r.migration_name for r in rows if not r.finished_at and not r.rolled_back_at]
        absent = [a.name for a in self.applied if a.name not in finished]
        if failed or absent:
            raise MigrationStateError(
                f"Post-deploy check failed on {self.env}: the tracking table does not show "
                f"{', '.join(absent) or 'every migration'} as applied"
                + (f" and shows failed migrations: {', '.join(failed)}" if failed else "")
                + ".",
                suggestions=[f"faber-db status {self.env}"],
            )
        return {"connection": "ok", "server_version": version, "tracking_table": "consistent"}

    def _auto_rollback(self, error: MigrationFailedError) -> None:
        if not self.rollback_attempts:
            return
        result = error.details.setdefault("result", {})
        if self.backup_entry is None:
            result["auto_rollback"] = {"attempted": False, "reason": "no pre-migration backup"}
            return
        result["auto_rollback"] = self._restore(error)
        if result["auto_rollback"]["succeeded"]:
            result.pop("rollback_command", None)  # already done

    def _restore(self, error: MigrationFailedError) -> dict:
        entry, last = self.backup_entry, None
        for attempt in range(1, self.rollback_attempts + 1):
            self._notify(f"restoring {entry.id} (automatic rollback, attempt {attempt})")
            try:
                outcome = restore_entry(self.config, self.target, entry, progress=self.progress)
            except FaberError as exc:
                last = exc
                continue
            error.message += f" The database was restored automatically from {entry.id}."
            failed = error.details.get("result", {}).get("failed_migration", "the migration")
            error.suggestions = restored_suggestions(self.env, failed)
            return {"attempted": True, "succeeded": True, "attempts": attempt, "restore": outcome}
        error.message += f" Automatic rollback from {entry.id} failed: {last.message}"
        return {
            "attempted": True,
            "succeeded": False,
            "attempts": self.rollback_attempts,
            "error": {"code": last.code, "message": last.message},
        }

    def _notify(self, message: str) -> None:
        if self.progress is not None:
            self.progress(message)


def describe_blocker(blocker: dict) -> str:
    """'pid 4242 (user app, transaction open 37.1 s): UPDATE accounts ...'."""
    facts = [f"user {blocker['user']}"] if blocker.get("user") else []
    if blocker.get("transaction_seconds") is not None:
        facts.append(f"transaction open {blocker['transaction_seconds']:g} s")
    elif blocker.get("state"):
        facts.append(blocker["state"])
    query = summary(blocker.get("query") or "", 120)
    return (
        f"pid {blocker.get('pid')}"
        + (f" ({', '.join(facts)})" if facts else "")
        + (f": {query}" if query else "")
    )


def refuse_blocked_history(history: History, env: str) -> None:
    """Refuse to deploy over failed (Prisma P3009) or edited migrations."""
    if history.failed:
        names = list(dict.fromkeys(r.migration_name for r in history.failed))
        logs = "; ".join(
            f"{r.migration_name}: {summary(r.logs or 'no logs', 300)}" for r in history.failed
        )
        raise MigrationStateError(
            f"{env} has failed migration(s): {', '.join(names)} (Prisma P3009). "
            f"Nothing was changed. {logs}",
            suggestions=resolve_suggestions(env, names[0]),
        )
    if history.modified:
        raise MigrationStateError(
            f"Applied migration(s) were edited after they were applied: "
            f"{', '.join(history.modified)} (the checksum of migration.sql no longer matches "
            "the tracking table). Nothing was changed.",
            suggestions=[
                f"Restore the original {history.modified[0]}/migration.sql (git checkout)",
                "Put further changes in a new migration: faber-db generate-migration <name>",
            ],
        )


def resolve_suggestions(env: str, name: str) -> list[str]:
    """The commands that recover from a failed migration."""
    return [
        f"faber-db resolve {env} --rolled-back {name}  (after undoing its partial changes; "
        "the next migrate re-runs it)",
        f"faber-db resolve {env} --applied {name}  (after finishing it by hand)",
    ]


def failure_suggestions(
    env: str, name: str, backup_id: str | None, rolled_back: bool = False
) -> list[str]:
    """What to do after a failed deploy, for the state it left.

    When the failed migration's transaction rolled back, none of it is in the database:
    marking it rolled back (after fixing it) is the whole repair, and restoring a backup
    would also undo the migrations that did succeed. When statements stayed applied
    (no transaction), restoring the pre-migration backup comes first."""
    rollback = [f"faber-db rollback {env} --from {backup_id}"] if backup_id else []
    if rolled_back:
        return [
            f"faber-db resolve {env} --rolled-back {name}  (nothing of it was applied; fix "
            "its migration.sql, then migrate again)",
            f"faber-db status {env}",
            *[f"{command}  (only to undo the migrations before it too)" for command in rollback],
        ]
    return rollback + resolve_suggestions(env, name) + [f"faber-db status {env}"]


def restored_suggestions(env: str, name: str) -> list[str]:
    """After an automatic rollback restored the pre-migration backup: the failed
    migration's tracking row went with it, so there is nothing to resolve."""
    return [
        f"faber-db status {env}",
        f"fix {name}'s migration.sql, then: faber-db migrate {env} --dry-run",
    ]
