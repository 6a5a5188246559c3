"""`faber-db rollback <env> --to <migration> --strategy down|restore|auto`.

restore: today's rollback (manager.run_restore). down: the down files of every
migration newer than --to, newest first (down_plan.py, down_apply.py), after the
safety backup. auto (the default): down when every migration to undo has a down
file and the rows its down files drop are fewer than the rows a restore would
discard (written since the backup), else restore.

The dry run shows both strategies side by side under `strategies`; the plan_id
covers the strategy chosen. The environment's change lock is held (not by a dry
run) from the comparison to the end, so the choice is made on what is changed.
"""

from __future__ import annotations

import time
from contextlib import nullcontext

from faber_db.approval import Approval
from faber_db.backup_manager.catalogue import Catalogue
from faber_db.backup_manager.create import BackupOptions, take_backup
from faber_db.config import Config, Target
from faber_db.engines import engine_for
from faber_db.environment_lock import lock_environment
from faber_db.errors import BackupNotFoundError, FaberError, InvalidInputError
from faber_db.migration_deployer.statements import database_errors
from faber_db.migration_deployer.tracking import TrackingTable
from faber_db.plans import approval_gate, plan_id
from faber_db.result import Progress, Result
from faber_db.rollback_manager import manager
from faber_db.rollback_manager.down_apply import DownRunner
from faber_db.rollback_manager.down_plan import DownPlan, plan_down
from faber_db.rollback_manager.plan import RestorePlan, RestoreRequest, choose_rollback_backup

STRATEGIES = ("auto", "down", "restore")
NOT_COMPARED = {
    "available": False,
    "reason": "not compared: --strategy down was asked for (the dry run compares both)",
    "rows_lost": None,
    "tables": [],
}
MYSQL_NOTE = (
    "{engine} commits DDL implicitly: each down file's statements commit one by one and its "
    "tracking row is removed right after them (not in one transaction)"
)


def rollback(
    config: Config, request: RestoreRequest, approval: Approval, progress: Progress | None
) -> Result:
    """Roll back by the strategy asked for (see the module docstring)."""
    strategy = request.strategy or "auto"
    if strategy not in STRATEGIES:
        raise InvalidInputError(f"--strategy {strategy!r}: use one of {', '.join(STRATEGIES)}.")
    if request.to_migration is None:
        if strategy == "down":
            raise InvalidInputError(
                "--strategy down needs --to MIGRATION (the migration to go back to). "
                "Nothing was changed.",
                suggestions=[f"faber-db status {request.environment}"],
            )
        request.strategy = "restore"
        return manager.run_restore(config, request, approval, progress)
    target = config.resolve(request.environment)
    manager.check_safety_policy(config, request)
    change = nullcontext() if request.dry_run else lock_environment(config, target, progress)
    with change:
        engine = engine_for(target.conn)
        try:
            with engine.session() as db:
                down = plan_down(config, target, engine, db, request.to_migration)
        except FaberError as error:
            if strategy == "down":
                raise
            # auto/restore: today's rollback --to still works where no down plan can be
            # made (a database that does not exist, a migration not applied there).
            why = error.message.replace(" Nothing was changed.", "").rstrip(".")
            down = DownPlan(target, request.to_migration, [], unavailable=why)
        if strategy == "down" and not request.dry_run:
            restore = NOT_COMPARED  # counting every table would only slow the run down
        else:
            restore = restore_side(config, request, target, engine)
        chosen, why = choose(strategy, down, restore)
        request.strategy = chosen
        request.strategies = comparison(chosen, why, down, restore)
        if chosen == "restore":
            return manager.run_restore(config, request, approval, progress)
        return _run_down(config, request, down, approval, progress)


# -- the comparison ---------------------------------------------------------------------
def restore_side(config: Config, request: RestoreRequest, target: Target, engine) -> dict:
    """What a restore would discard: rows written since the backup, per table."""
    catalogue = Catalogue.for_config(config)
    try:
        entry = choose_rollback_backup(catalogue.entries(), target, request.to_migration, catalogue)
    except BackupNotFoundError:
        reason = (
            f"no valid backup of {target.environment} whose last migration is "
            f"{request.to_migration} (safety backups are not chosen automatically)"
        )
        return {"available": False, "reason": reason, "rows_lost": None, "tables": []}
    current = manager.current_state(engine, config.migrations_table, counts=True)
    plan = RestorePlan(request, target.conn.database, target, entry, current, False)
    tables = [
        t | {"rows_lost": _rows_lost(t)}
        for t in plan.table_changes()
        if t["table"].rsplit(".", 1)[-1] != config.migrations_table
    ]
    return {
        "available": True,
        "backup": plan.backup_summary(),
        "rows_lost": sum(t["rows_lost"] for t in tables),
        "tables": tables,
    }


def _rows_lost(change: dict) -> int:
    now, then = change["now"], change["at_backup"]
    if now is None:
        return 0
    return now if then is None else max(now - then, 0)


def choose(strategy: str, down: DownPlan, restore: dict) -> tuple[str, str]:
    """(strategy, why) for what was asked and what each strategy loses."""
    if strategy == "down":
        if not down.available:
            raise _missing_down_files(down)
        return "down", "asked for with --strategy down"
    if strategy == "restore":
        if not restore["available"]:
            raise BackupNotFoundError(
                f"--strategy restore: {restore['reason']}. Nothing was changed.",
                suggestions=[f"faber-db backups list {down.target.environment}"],
            )
        return "restore", "asked for with --strategy restore"
    if not down.available:
        if not restore["available"]:
            raise BackupNotFoundError(
                f"Cannot roll back: {restore['reason']}, and not by down files either: "
                f"{down.why_unavailable()}. Nothing was changed.",
                suggestions=[f"faber-db backups list {down.target.environment}"],
            )
        return "restore", down.why_unavailable()
    if not restore["available"]:
        return "down", "no backup to restore; every migration to undo has a down file"
    return _by_loss(down.rows_lost(), restore["rows_lost"])


def _by_loss(down_rows: int | None, restore_rows: int) -> tuple[str, str]:
    if down_rows is None:
        return "restore", "the rows the down files drop could not be counted"
    if down_rows < restore_rows:
        return "down", f"down drops {down_rows} row(s); restore would discard {restore_rows}"
    return "restore", f"restore discards {restore_rows} row(s); down would drop {down_rows}"


def comparison(chosen: str, why: str, down: DownPlan, restore: dict) -> dict:
    """Both strategies side by side, as the dry run shows them."""
    return {"chosen": chosen, "why": why, "restore": restore, "down": down.summary()}


def _missing_down_files(down: DownPlan) -> InvalidInputError:
    env, missing = down.target.environment, down.missing_down_files
    return InvalidInputError(
        f"--strategy down: no down file for {', '.join(missing)} (write "
        f"<migration>/down.sql). Nothing was changed.",
        suggestions=[
            f"faber-db rollback {env} --to {down.to_migration} --strategy restore --dry-run",
        ],
    )


# -- the down strategy ------------------------------------------------------------------
def down_approval_plan(request: RestoreRequest, down: DownPlan, safety_backup: bool) -> dict:
    """The deterministic plan of a rollback by down files (what its plan_id covers)."""
    target = down.target
    return {
        "operation": "rollback",
        "strategy": "down",
        "environment": request.environment,
        "engine": target.engine,
        "database": target.conn.database,
        "to_migration": down.to_migration,
        "migrations_to_undo": [step.to_dict() for step in down.steps],
        "safety_backup": safety_backup,
    }


def _run_down(config, request: RestoreRequest, down: DownPlan, approval, progress) -> Result:
    safety = request.safety_backup and not down.database_empty
    plan = down_approval_plan(request, down, safety)
    notes = _notes(down)
    display = {"strategies": request.strategies, "notes": notes}
    if request.dry_run:
        plan["plan_id"] = plan_id(plan)
        return Result(
            operation="rollback",
            status="dry_run",
            environment=request.environment,
            result={"plan_id": plan["plan_id"], "plan": plan, **_details(down, safety), **display},
            message=_dry_message(down, safety),
            warnings=config.warnings + notes,
        )
    shown = plan | {"display": display | _details(down, safety)}
    gate = approval_gate(config, request.environment, "rollback", shown, approval)
    if gate is not None:
        gate.warnings = config.warnings + notes + gate.warnings
        return gate
    done = _execute_down(config, request, down, plan_id(plan), plan, safety, progress)
    done.result |= display
    return done


def _execute_down(config, request, down: DownPlan, pid: str, plan, safety, progress) -> Result:
    started = time.monotonic()
    backup_id, warnings = _safety_backup(config, down.target, safety, progress)
    engine = engine_for(down.target.conn)
    result = {"plan_id": pid, "plan": plan, "strategy": "down", "safety_backup_id": backup_id}
    from faber_db.migration_deployer.deploy import migration_timeouts

    with engine.session() as db:
        tracking = TrackingTable(engine, db, config.migrations_table)
        try:
            with database_errors(engine, "running the down files"):
                # A down file waits for locks no longer than a migration would.
                timeouts = migration_timeouts(config, request.environment)
                warnings += engine.set_migration_timeouts(db, *timeouts)
                undone = DownRunner(engine, db, tracking, down).run(backup_id)
        except FaberError as error:
            error.details.setdefault("result", {}).update(result)
            raise
    names = [u["name"] for u in undone]
    return Result(
        operation="rollback",
        environment=request.environment,
        result=result
        | {
            "migrations_rolled_back": names,
            "undone": undone,
            "to_migration": down.to_migration,
            "duration_seconds": round(time.monotonic() - started, 3),
        },
        message=(
            f"Rolled back {len(names)} migration(s) of {request.environment} by their down files "
            f"({', '.join(names) or 'none'}); they are pending again. "
            + (f"Safety backup: {backup_id}." if backup_id else "No safety backup was taken.")
        ),
        warnings=config.warnings + warnings + _notes(down) + manager.prisma_reminder(config),
    )


def _safety_backup(config, target, safety: bool, progress) -> tuple[str | None, list[str]]:
    if not safety:
        return None, []
    if progress:
        progress("taking the safety backup")
    options = BackupOptions(label="pre-rollback", reason="pre-rollback")
    try:
        entry, warnings = take_backup(config, target, options, progress)
    except FaberError as error:
        error.message = f"The safety backup failed, so no down file was run: {error.message}"
        raise
    return entry.id, warnings


def _details(down: DownPlan, safety: bool) -> dict:
    return {
        "strategy": "down",
        "target_database": down.target.conn.database,
        "to_migration": down.to_migration,
        "migrations_to_remove": down.names,
        "safety_backup": safety,
    }


def _notes(down: DownPlan) -> list[str]:
    if any(not step.transactional for step in down.steps):
        reasons = {r for step in down.steps for r in step.no_transaction_reasons}
        if any("commits DDL implicitly" in r for r in reasons):
            return [MYSQL_NOTE.format(engine=down.target.engine)]
        return ["some down files cannot run in a transaction: " + "; ".join(sorted(reasons))]
    return []


def _dry_message(down: DownPlan, safety: bool) -> str:
    rows = down.rows_lost()
    lost = "an unknown number of" if rows is None else str(rows)
    return (
        f"Would roll back {len(down.names)} migration(s) by their down files "
        f"({', '.join(down.names) or 'none'}), dropping {lost} row(s) of data; "
        f"{'a safety backup is taken first' if safety else 'no safety backup'}. "
        "Nothing was changed."
    )
