"""`faber-db resolve <env> --applied X | --rolled-back X`: the equivalent of
`prisma migrate resolve`, for an operator who fixed a failed migration by
hand (or baselines an existing database). It only writes tracking rows, under
the environment's change lock (environment_lock.py), and never runs a migration.
"""

from __future__ import annotations

from faber_db.approval import Approval
from faber_db.config import Config
from faber_db.engines import engine_for
from faber_db.engines.base import TrackedMigration
from faber_db.environment_lock import lock_environment
from faber_db.errors import InvalidInputError, MigrationStateError
from faber_db.migration_deployer import prisma_layout as prisma
from faber_db.migration_deployer.statements import database_errors
from faber_db.migration_deployer.tracking import TrackingTable
from faber_db.plans import approval_gate
from faber_db.result import Result


def resolve_migration(
    config: Config,
    env: str,
    applied: str | None = None,
    rolled_back: str | None = None,
    approval: Approval | None = None,
) -> Result:
    """Mark one migration as applied or as rolled back (approved on protected environments)."""
    if (applied is None) == (rolled_back is None):
        raise InvalidInputError(
            "Give exactly one of --applied <migration> or --rolled-back <migration>."
        )
    name = prisma.check_tracked_name(applied or rolled_back)
    target = config.resolve(env)
    engine = engine_for(target.conn)
    local = _local_migration(config, engine, name) if applied else None
    plan = {
        "operation": "resolve",
        "environment": env,
        "database": target.conn.redacted(),
        "mark": "applied" if applied else "rolled-back",
        "migration": name,
        "checksum": local.checksum if local else None,
    }
    # Refuse what would be refused anyway before asking anybody to approve it.
    with engine.session() as db, database_errors(engine, "reading the tracking table"):
        rows = TrackingTable(engine, db, config.migrations_table).read()
    if applied:
        _check_can_mark_applied(rows or [], name, env)
    else:
        _check_can_mark_rolled_back(rows or [], name, env)
    gate = approval_gate(config, env, "resolve", plan, approval or Approval())
    if gate is not None:
        return gate
    with (
        lock_environment(config, target),
        engine.session() as db,
        database_errors(engine, "updating the tracking table"),
    ):
        tracking = TrackingTable(engine, db, config.migrations_table)
        if applied:
            result, message = _mark_applied(tracking, local, env)
        else:
            result, message = _mark_rolled_back(tracking, name, env)
    return Result(
        operation="resolve",
        environment=env,
        result={**result, "plan_id": plan["plan_id"]},
        message=message,
        warnings=list(config.warnings),
        suggestions=[f"faber-db status {env}"],
    )


def _local_migration(config: Config, engine, name: str) -> prisma.Migration:
    directory = config.migrations_dir
    prisma.check_provider(directory, engine.prisma_provider)
    for migration in prisma.list_migrations(directory):
        if migration.name == name:
            return migration
    raise MigrationStateError(
        f"Migration {name} could not be found in {directory} (Prisma P3017).",
        suggestions=[f"ls {directory}"],
    )


def _mark_applied(tracking: TrackingTable, migration: prisma.Migration, env: str):
    rows = tracking.read()
    created = rows is None
    if created:
        tracking.create()  # as Prisma does: this is how a database is baselined
        rows = []
    mine = _check_can_mark_applied(rows, migration.name, env)
    failed = _failed_ids(mine)
    tracking.mark_rolled_back(failed)
    tracking.insert_applied(migration.name, migration.checksum)
    return (
        {
            "migration": migration.name,
            "action": "applied",
            "checksum": migration.checksum,
            "failed_rows_rolled_back": len(failed),
            "tracking_table_created": created,
        },
        f"Recorded {migration.name} as applied in {env} (nothing was executed).",
    )


def _check_can_mark_applied(
    rows: list[TrackedMigration], name: str, env: str
) -> list[TrackedMigration]:
    """The migration's live rows; refuses (P3008) when it is already applied."""
    mine = [r for r in rows if r.migration_name == name and r.rolled_back_at is None]
    if any(r.finished_at is not None for r in mine):
        raise MigrationStateError(
            f"Migration {name} is already recorded as applied in {env} (Prisma P3008). "
            "Nothing was changed.",
            suggestions=[f"faber-db status {env}"],
        )
    return mine


def _check_can_mark_rolled_back(rows: list[TrackedMigration], name: str, env: str) -> list[str]:
    """The ids of the migration's failed rows; refuses when it has none (P3011, P3012)."""
    rows = [r for r in rows if r.migration_name == name]
    if not rows:
        raise MigrationStateError(
            f"Migration {name} cannot be rolled back: it was never applied to {env} (Prisma P3011).",
            suggestions=[f"faber-db status {env}"],
        )
    failed = _failed_ids(rows)
    if not failed:
        raise MigrationStateError(
            f"Migration {name} cannot be rolled back: it is not in a failed state in {env} "
            "(Prisma P3012). To undo an applied migration, restore a backup taken before it.",
            suggestions=[f"faber-db backups list {env}", f"faber-db status {env}"],
        )
    return failed


def _mark_rolled_back(tracking: TrackingTable, name: str, env: str):
    failed = _check_can_mark_rolled_back(tracking.read() or [], name, env)
    tracking.mark_rolled_back(failed)
    return (
        {"migration": name, "action": "rolled_back", "failed_rows_rolled_back": len(failed)},
        f"Recorded {name} as rolled back in {env}; the next `faber-db migrate {env}` runs it again.",
    )


def _failed_ids(rows: list[TrackedMigration]) -> list[str]:
    return [r.id for r in rows if r.finished_at is None and r.rolled_back_at is None]
