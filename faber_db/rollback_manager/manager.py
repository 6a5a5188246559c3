"""Restore and rollback: put a verified backup back into a database, atomically.

Both commands hold the environment's change lock (environment_lock.py, shared
with migrate and resolve; not taken by a dry run) from before step 1 to the end,
and share these steps, in this order:
 1. the backup exists, is `valid`, and still passes its sha256, decompression and
    format checks (a damaged or tampered backup is refused before anything is touched);
 2. the plan: backup and age, migrations that will be removed, each table's rows
    now against at backup time, and whether a safety backup will be taken
    (a dry run stops here);
 3. approval (plans.approval_gate). With --into, the environment's own database
    is never touched, but the gate still applies on a protected environment: the
    database written to lives on that environment's server and is overwritten;
 4. a safety backup of the current state (reason pre-rollback, or pre-restore for a
    restore; kept >= 90 days);
 5. the engine's restore strategy (faber_db/engines/<engine>/restorer.py), atomic for every engine;
 6. verification against the backup's manifest and migration state;
 7. the catalogue records the restore and the safety backup it is tied to.

A rollback goes through strategy.py first: with --to it may run the migrations'
down files instead (down_plan.py, down_apply.py); a restore comes back here.
"""

from __future__ import annotations

import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from faber_db.approval import Approval
from faber_db.backup_manager import encryption
from faber_db.backup_manager.catalogue import BackupEntry, Catalogue
from faber_db.backup_manager.create import BackupOptions, take_backup
from faber_db.backup_manager.file_verification import is_unchanged, verify_file, verify_sealed
from faber_db.backup_manager.manager import lookup_entry, opened_identity
from faber_db.backup_manager.remote.fetch import ensure_local_copy, remote_only_entries
from faber_db.config import CONFIG_DIR, Config, Target
from faber_db.engines import engine_class
from faber_db.engines.restorer import BackupSource, Restorer
from faber_db.environment_lock import lock_environment
from faber_db.errors import (
    BackupInvalidError,
    FaberError,
    InvalidInputError,
    PolicyBlockedError,
    RestoreFailedError,
    VerificationFailedError,
)
from faber_db.plans import approval_gate, plan_id
from faber_db.restore_lock import restore_lock, restorer_of
from faber_db.result import Progress, Result
from faber_db.rollback_manager.manifest_verification import (
    RestoreVerification,
    verify_against_backup,
)
from faber_db.rollback_manager.plan import (
    SAFETY_REASONS,
    CurrentState,
    RestorePlan,
    RestoreRequest,
    choose_rollback_backup,
)
from faber_db.timeutil import format_utc, utcnow

RESTORES_KEPT = 20
PRISMA_SCHEMA = Path("prisma/schema.prisma")
RESERVED_NAME_MARKS = ("__faber_", "faber_verify", "faber_rehearsal_")


@dataclass
class RestoreOutcome:
    """What step 5 and 6 did."""

    verification: RestoreVerification
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


# -- commands ---------------------------------------------------------------------------
def restore_backup(
    config: Config,
    env: str,
    backup_id: str,
    into: str | None = None,
    *,
    dry_run: bool = False,
    safety_backup: bool = True,
    approval: Approval | None = None,
    progress: Progress | None = None,
) -> Result:
    """`faber-db restore <env> --from <id> [--into <db>]`."""
    request = RestoreRequest("restore", env, backup_id, None, into, dry_run, safety_backup)
    return run_restore(config, request, approval or Approval(), progress)


def rollback(
    config: Config,
    env: str,
    backup_id: str | None = None,
    to_migration: str | None = None,
    *,
    dry_run: bool = False,
    safety_backup: bool = True,
    approval: Approval | None = None,
    progress: Progress | None = None,
    strategy: str = "auto",
) -> Result:
    """`faber-db rollback <env> [--from <id> | --to <migration>] [--strategy ...]`."""
    from faber_db.rollback_manager import strategy as strategies

    request = RestoreRequest(
        "rollback", env, backup_id, to_migration, None, dry_run, safety_backup, strategy
    )
    if backup_id is not None and strategy == "down":
        raise InvalidInputError(
            "--strategy down runs down files back to a migration: give --to MIGRATION, "
            "not --from (a backup is restored). Nothing was changed."
        )
    return strategies.rollback(config, request, approval or Approval(), progress)


def run_restore(
    config: Config, request: RestoreRequest, approval: Approval, progress: Progress | None
) -> Result:
    """Steps 1-7 for a restore or rollback request."""
    env_target = config.resolve(request.environment)
    target = destination(config, env_target, request)
    check_safety_policy(config, request)
    # A dry run changes nothing, so it does not wait for the environment's change lock.
    change = nullcontext() if request.dry_run else lock_environment(config, target, progress)
    with change, restore_lock(config, request.environment):
        restorer = restorer_of(config, target, progress)
        started = time.monotonic()
        entry = _choose_backup(config, request, target)
        check_backup(config, entry, target)
        plan = _plan(config, request, env_target, target, entry, restorer)
        check_seconds = time.monotonic() - started
        if request.dry_run:
            return _dry_run_result(config, plan)
        # The person approving sees what will be lost; those live figures stay out of the hash.
        shown = plan.approval_plan() | {"display": plan.details()}
        gate = approval_gate(config, request.environment, request.operation, shown, approval)
        if gate is not None:
            gate.warnings = config.warnings + plan.notes + gate.warnings
            return gate
        return _execute(config, plan, restorer, check_seconds, progress)


def restore_entry(
    config: Config, target: Target, entry: BackupEntry, progress: Progress | None = None
) -> dict:
    """Restore `entry` into `target` atomically and verify it; raise a FaberError on failure.

    For callers that handle approval and the safety backup themselves (the
    migration deployer's automatic rollback). Returns the restore report.
    """
    started = time.monotonic()
    with lock_environment(config, target, progress), restore_lock(config, target.environment):
        restorer = restorer_of(config, target, progress)
        recovered = restorer.recover()
        check_backup(config, entry, target)
        before = current_state(restorer.engine, config.migrations_table, counts=False)
        outcome = _restore_and_verify(config, restorer, entry)
    removed = [m for m in before.migrations or [] if m not in entry.migrations["migrations_list"]]
    report = {
        "backup_id": entry.id,
        "database": target.conn.database,
        "migrations_rolled_back": removed,
        "verification": outcome.verification.to_dict(),
        "recovered": recovered + outcome.notes,
        "warnings": outcome.warnings,
        "duration_seconds": round(time.monotonic() - started, 3),
    }
    if not outcome.verification.passed:
        raise _verification_error(target, entry, None, report)
    return report


# -- step 1: the backup -----------------------------------------------------------------
def _choose_backup(config: Config, request: RestoreRequest, target: Target) -> BackupEntry:
    catalogue = _catalogue(config)
    if request.backup_id is not None:
        return lookup_entry(config, request.backup_id)[0]
    local = catalogue.entries()
    entries = local + remote_only_entries(config, local, target.environment)[0]
    return choose_rollback_backup(entries, target, request.to_migration, catalogue)


def check_backup(config: Config, entry: BackupEntry, target: Target) -> None:
    """Refuse a backup of another engine, or one that is not valid now (nothing touched).
    A backup whose only copy is in the remote repository is downloaded first (its
    sha256 checked before it is put in place: remote/fetch.py)."""
    check_engine(entry, target)
    listing = f"faber-db backups list {target.environment}"
    if entry.status != "valid":
        raise BackupInvalidError(
            f"Backup {entry.id} is marked {entry.status}; it cannot be restored. Nothing was touched.",
            suggestions=[f"faber-db backups verify {entry.id}", listing],
        )
    ensure_local_copy(config, entry)
    path = _catalogue(config).backup_path(entry)
    # Same sha256 as when it passed verification: the same bytes, so the same
    # decompression and format results (the restore decompresses it all again).
    # An encrypted backup's identity must open it, checked before anything is changed.
    if is_unchanged(path, entry.sha256):
        opened_identity(config, entry, path)
        return
    if encryption.is_encrypted(entry):
        verification = verify_sealed(path, entry.sha256, entry.verification)
    else:
        verification = verify_file(
            entry.engine, path, entry.format, entry.compression, entry.sha256
        )
    status = "invalid" if path.exists() else "missing"
    _catalogue(config).update_entry(entry.id, status=status, verification=verification.to_dict())
    raise BackupInvalidError(
        f"Backup {entry.id} failed its checks and is now marked {status}: "
        + "; ".join(verification.problems)
        + ". Nothing was touched.",
        suggestions=[listing, f"faber-db rollback {target.environment} --dry-run"],
    )


def check_engine(entry: BackupEntry, target: Target) -> None:
    """Refuse a backup taken from another engine than the target's."""
    if entry.engine != target.engine:
        raise InvalidInputError(
            f"Backup {entry.id} is a {entry.engine} backup; environment {target.environment} is "
            f"{target.engine}. A backup restores only into the same engine. Nothing was touched.",
            suggestions=[f"faber-db backups list {target.environment}"],
        )


# -- step 2: the plan -------------------------------------------------------------------
def destination(config: Config, env_target: Target, request: RestoreRequest) -> Target:
    """The environment's target, or the same server with the --into database.

    --into is checked here, before anything connects: the engine refuses names
    outside its pattern, over its length limit, its system databases and (SQLite)
    relative paths that leave the project; names of faber-db's own scratch
    databases are refused for every engine."""
    into = request.into
    if into is None:
        return env_target
    try:
        if not into or "\x00" in into or any(mark in into for mark in RESERVED_NAME_MARKS):
            raise InvalidInputError(
                f"--into {into!r} is not a database name faber-db can restore into."
            )
        private = (config.project_path(str(CONFIG_DIR)), config.backups_dir, config.state_dir)
        database = engine_class(env_target.engine).restore_target(
            into, config.project_root, private
        )
        target = Target(
            env_target.environment, env_target.conn.with_database(database), env_target.settings
        )
        _refuse_other_environment(config, target)
    except InvalidInputError as error:
        error.message += " Nothing was created or changed."
        error.suggestions += _into_suggestions(request)
        raise
    return target


def _refuse_other_environment(config: Config, target: Target) -> None:
    """--into must not reach another environment's database: that would restore it
    without its own policy (a protected environment's approval)."""
    mine = _database_key(target)
    for env in sorted(set(config.environments) - {target.environment}):
        try:
            other = config.resolve(env)
        except FaberError:  # its URL is not set here: it cannot be the same database
            continue
        if _database_key(other) == mine:
            raise InvalidInputError(
                f"--into {target.conn.database!r} is the database of environment {env}; "
                f"restore it as that environment (faber-db restore {env} --from ...), under "
                "its own policy."
            )


def _database_key(target: Target) -> tuple:
    conn = target.conn
    return (conn.engine, (conn.host or "").lower(), conn.port, conn.database)


def _into_suggestions(request: RestoreRequest) -> list[str]:
    example = request.environment.replace("-", "_")[:40] + "_restored"
    return [
        "Choose a new database (not a system one) to restore into, then: "
        f"faber-db restore {request.environment} --from {request.backup_id} "
        f"--into {example} --dry-run",
        f"faber-db backups list {request.environment}",
    ]


def check_safety_policy(config: Config, request: RestoreRequest) -> None:
    """--no-safety-backup is refused where backups are required."""
    if request.safety_backup or config.backup_enforcement(request.environment) != "required":
        return
    raise PolicyBlockedError(
        f"Backup enforcement for {request.environment} is 'required': a {request.operation} "
        "must take a safety backup first. Nothing was touched.",
        suggestions=[f"Re-run without --no-safety-backup: {_command(request)}"],
    )


def _plan(config, request, env_target, target, entry, restorer: Restorer) -> RestorePlan:
    current = current_state(restorer.engine, config.migrations_table, counts=True)
    notes = restorer.recover(dry_run=True)
    safety = request.safety_backup and not current.empty
    if request.safety_backup and current.empty:
        notes.append(f"no safety backup: {target.conn.database} is empty or does not exist")
    return RestorePlan(request, env_target.conn.database, target, entry, current, safety, notes)


def current_state(engine, migrations_table: str, counts: bool) -> CurrentState:
    """The target now: whether it exists, its row counts and applied migrations."""
    if not engine.database_exists(engine.conn.database):
        return CurrentState(exists=False)
    with engine.session() as db:
        summary = engine.migration_summary(db, migrations_table)
        tables = engine.row_counts(db) if counts else {}
        fingerprints = engine.table_fingerprints(db) if counts else {}
    applied = summary["migrations_list"] if summary["table_present"] else None
    return CurrentState(True, tables, applied, fingerprints)


def _dry_run_result(config: Config, plan: RestorePlan) -> Result:
    approval = plan.approval_plan()
    approval["plan_id"] = plan_id(approval)
    return Result(
        operation=plan.request.operation,
        status="dry_run",
        environment=plan.request.environment,
        result={"plan_id": approval["plan_id"], "plan": approval, **plan.details()},
        message=(
            f"Would restore {plan.target_database} from {plan.entry.id} "
            f"({plan.backup_summary()['age']} old), removing {len(plan.migrations_removed)} "
            f"migration(s); {'a safety backup is taken first' if plan.safety_backup else 'no safety backup'}. "
            "Nothing was changed."
        ),
        warnings=config.warnings + plan.notes,
    )


# -- steps 4-7 --------------------------------------------------------------------------
def _execute(config, plan: RestorePlan, restorer: Restorer, check_seconds: float, progress):
    request, approval = plan.request, plan.approval_plan()
    result = {"plan_id": plan_id(approval), "plan": approval, "backup_id": plan.entry.id}
    recovered = restorer.recover()
    safety, safety_warnings, safety_seconds = _safety_backup(config, plan, progress)
    result["safety_backup_id"] = safety.id if safety else None
    try:
        outcome = _restore_and_verify(config, restorer, plan.entry)
    except FaberError as error:
        raise _restore_error(error, plan, safety, result) from None
    outcome.timings = {"checks": check_seconds, "safety_backup": safety_seconds, **outcome.timings}
    result |= _report(plan, outcome, recovered)
    if not outcome.verification.passed:
        raise _verification_error(plan.target, plan.entry, safety, result, request)
    _record(config, plan, safety)
    return Result(
        operation=request.operation,
        environment=request.environment,
        result=result,
        message=_success_message(plan, safety),
        warnings=config.warnings
        + recovered
        + safety_warnings
        + outcome.warnings
        + prisma_reminder(config),
    )


def _safety_backup(config: Config, plan: RestorePlan, progress):
    if not plan.safety_backup:
        return None, [], 0.0
    if progress:
        progress("taking the safety backup")
    started = time.monotonic()
    reason = SAFETY_REASONS[plan.request.operation]
    options = BackupOptions(label=reason, reason=reason)
    try:
        entry, warnings = take_backup(config, plan.target, options, progress)
    except FaberError as error:
        error.message = f"The safety backup failed, so nothing was restored: {error.message}"
        raise
    return entry, warnings, round(time.monotonic() - started, 3)


def _restore_and_verify(config: Config, restorer: Restorer, entry: BackupEntry) -> RestoreOutcome:
    path = _catalogue(config).backup_path(entry)
    source = BackupSource(entry, path, encryption.identity_for(config, entry))
    table = config.migrations_table
    staged: list[RestoreVerification] = []
    started = time.monotonic()
    with driver_errors(restorer):
        created = restorer.prepare_target()
        try:
            restorer.restore(source, lambda copy: staged.append(_check_staged(copy, entry, table)))
        except BaseException:
            if created:
                restorer.engine.drop_database(restorer.database)
            raise
        restored = time.monotonic()
        with restorer.engine.session() as db:
            verification = verify_against_backup(
                restorer.engine, db, entry, table, not restorer.counts_checked_before_swap
            )
    verification.warnings += [warning for check in staged for warning in check.warnings]
    return RestoreOutcome(
        verification,
        warnings=restorer.warnings + verification.warnings,
        timings={
            "restore": round(restored - started, 3),
            "verify": round(time.monotonic() - restored, 3),
        },
    )


def _check_staged(engine, entry: BackupEntry, migrations_table: str) -> RestoreVerification:
    with engine.session() as db:
        verification = verify_against_backup(engine, db, entry, migrations_table)
    if not verification.passed:
        raise VerificationFailedError(
            f"The restored copy of {entry.id} does not match its manifest, so it was not swapped "
            "in: " + "; ".join(verification.problems) + ". The target was not touched.",
            suggestions=[f"faber-db backups verify {entry.id} --deep"],
            details={"verification": verification.to_dict()},
        )
    return verification


@contextmanager
def driver_errors(restorer: Restorer):
    """Database driver errors mid-restore become typed errors."""
    # The strategy guarantees the target is old or new; the message says where to look.
    try:
        yield
    except restorer.driver_errors as exc:
        raise RestoreFailedError(
            f"The database reported an error during the restore of {restorer.database}: {exc}",
            suggestions=["Check the server's log, then retry"],
        ) from None


def _record(config: Config, plan: RestorePlan, safety: BackupEntry | None) -> None:
    record = {
        "at": format_utc(utcnow()),
        "operation": plan.request.operation,
        "environment": plan.request.environment,
        "database": plan.target_database,
        "safety_backup_id": safety.id if safety else None,
    }
    with _catalogue(config).update() as entries:
        for entry in entries:
            if entry.id == plan.entry.id:
                entry.extra["restores"] = (entry.extra.get("restores", []) + [record])[
                    -RESTORES_KEPT:
                ]
            elif safety is not None and entry.id == safety.id:
                entry.extra["safety_for"] = {**record, "backup_id": plan.entry.id}


# -- reporting --------------------------------------------------------------------------
def _report(plan: RestorePlan, outcome: RestoreOutcome, recovered: list[str]) -> dict:
    return {
        "backup": plan.backup_summary(),
        "target_database": plan.target_database,
        "migrations_rolled_back": plan.migrations_removed,
        "migrations_restored": plan.migrations_restored,
        "tables": plan.table_changes(),
        "verification": outcome.verification.to_dict(),
        "recovered": recovered + outcome.notes,
        "timings": outcome.timings,
    }


def _success_message(plan: RestorePlan, safety: BackupEntry | None) -> str:
    removed = plan.migrations_removed
    parts = [
        f"{plan.target_database} restored from {plan.entry.id} "
        f"({plan.backup_summary()['age']} old) and verified against its manifest."
    ]
    if removed:
        parts.append(f"Rolled back {len(removed)} migration(s): {', '.join(removed)}.")
    parts.append(f"Safety backup: {safety.id}." if safety else "No safety backup was taken.")
    return " ".join(parts)


def prisma_reminder(config: Config) -> list[str]:
    """After a schema change: remind to regenerate the Prisma Client (Prisma projects)."""
    if not (config.project_root / PRISMA_SCHEMA).is_file():
        return []
    return [
        "The database schema changed: regenerate the application's Prisma Client for it "
        "(npx prisma generate) and redeploy the application if it was built against the newer schema."
    ]


def _restore_error(error: FaberError, plan: RestorePlan, safety, result: dict) -> FaberError:
    if isinstance(error, RestoreFailedError | VerificationFailedError):
        error.message += f" {plan.target_database} keeps its previous content."
    if safety is not None:
        error.suggestions.append(f"The safety backup {safety.id} holds the state before this run")
    error.suggestions.append(f"faber-db backups verify {plan.entry.id} --deep")
    error.details["result"] = result
    return error


def _verification_error(target, entry, safety, result, request=None) -> VerificationFailedError:
    problems = "; ".join(result["verification"]["problems"])
    suggestions = [f"faber-db backups verify {entry.id} --deep"]
    if safety is not None:
        into = f" --into {target.conn.database}" if request and request.into else ""
        suggestions.insert(
            0,
            f"Get the previous state back: faber-db restore {target.environment} --from {safety.id}{into}",
        )
    where = f"safety backup {safety.id}" if safety else "no safety backup was taken"
    return VerificationFailedError(
        f"{target.conn.database} was restored from {entry.id} but does not match the backup's "
        f"manifest: {problems} ({where}).",
        suggestions=suggestions,
        details={"result": result},
    )


def _command(request: RestoreRequest) -> str:
    parts = ["faber-db", request.operation, request.environment]
    if request.backup_id:
        parts += ["--from", request.backup_id]
    if request.to_migration:
        parts += ["--to", request.to_migration]
    if request.into:
        parts += ["--into", request.into]
    return " ".join(parts)


# -- plumbing ---------------------------------------------------------------------------
def _catalogue(config: Config) -> Catalogue:
    return Catalogue.for_config(config)
