"""`faber-db status <env>`: where an environment stands against the
migrations directory, and the exit code that says so (up to date, pending,
or a problem: failed, edited or unknown migrations, or a provider mismatch).
"""

from __future__ import annotations

from faber_db.backup_manager.catalogue import Catalogue
from faber_db.config import Config
from faber_db.engines import engine_for
from faber_db.errors import CatalogueCorruptError
from faber_db.exit_codes import ExitStatus
from faber_db.migration_deployer import prisma_layout as prisma
from faber_db.migration_deployer.deploy import resolve_suggestions
from faber_db.migration_deployer.history import History, diagnose
from faber_db.migration_deployer.statements import database_errors
from faber_db.migration_deployer.tracking import TrackingTable
from faber_db.result import Result


def migration_status(config: Config, env: str) -> Result:
    """Connection, server, and every migration's state; never changes anything."""
    target = config.resolve(env)
    engine = engine_for(target.conn)
    directory = config.migrations_dir
    lock_provider = prisma.read_lock_provider(directory)
    local = prisma.list_migrations(directory)
    warnings = list(config.warnings)
    if not directory.is_dir():
        warnings.append(f"No migrations directory at {directory} (migrations.directory).")
    with engine.session() as db, database_errors(engine, "reading the tracking table"):
        version = engine.server_version(db)
        history = diagnose(local, TrackingTable(engine, db, config.migrations_table).read())
        if not history.table_present and history.pending and engine.list_tables(db):
            warnings.append(baseline_warning(env, history))
    provider_ok = lock_provider in (None, engine.prisma_provider)
    result = {
        "connection": target.conn.redacted(),
        "engine": engine.name,
        "server_version": version,
        "migrations_directory": str(directory),
        "tracking_table": {"name": config.migrations_table, "present": history.table_present},
        "provider": {
            "lock_file": lock_provider,
            "engine": engine.prisma_provider,
            "matches": provider_ok,
        },
        **history_fields(history),
        "last_backup": last_backup(config, env, warnings),
    }
    exit_status = status_exit(history, provider_ok)
    result["up_to_date"] = exit_status == ExitStatus.SUCCESS
    return Result(
        operation="status",
        environment=env,
        result=result,
        message=status_message(env, history, provider_ok, lock_provider, engine.prisma_provider),
        warnings=warnings,
        suggestions=status_suggestions(env, history, provider_ok),
        exit_status=exit_status,
    )


def baseline_warning(env: str, history: History) -> str:
    """A non-empty database without a tracking table: migrate would refuse (Prisma P3005)."""
    return (
        "The database has tables but no tracking table, so `migrate` will refuse it (P3005); "
        f"baseline it first: faber-db resolve {env} --applied {history.local[0].name}"
    )


def history_fields(history: History) -> dict:
    """applied / pending / failed / modified / missing_from_directory, and every migration."""
    return {
        "applied": history.applied,
        "pending": [m.name for m in history.pending],
        "failed": [s.to_dict() for s in history.statuses() if s.state == "failed"],
        "modified": history.modified,
        "missing_from_directory": history.missing,
        "migrations": [s.to_dict() for s in history.statuses()],
        # Migrations a rollback can undo by their down.sql (rollback --strategy down).
        "down_files": [m.name for m in history.local if m.has_down],
    }


def status_exit(history: History, provider_ok: bool) -> ExitStatus:
    """SUCCESS when up to date, MIGRATIONS_PENDING when only pending, else MIGRATION_STATE."""
    if history.problems or not provider_ok:
        return ExitStatus.MIGRATION_STATE
    return ExitStatus.MIGRATIONS_PENDING if history.pending else ExitStatus.SUCCESS


def status_message(
    env: str, history: History, provider_ok: bool, lock_provider, engine_provider
) -> str:
    """One sentence: the state of env."""
    parts = []
    if not provider_ok:
        parts.append(
            f"migration_lock.toml says provider '{lock_provider}' but the database is {engine_provider}"
        )
    if history.failed:
        parts.append(f"failed: {', '.join(r.migration_name for r in history.failed)}")
    if history.modified:
        parts.append(f"edited after being applied: {', '.join(history.modified)}")
    if history.missing:
        parts.append(f"in the database but not in the directory: {', '.join(history.missing)}")
    if history.pending:
        parts.append(f"{len(history.pending)} pending")
    if not parts:
        return f"{env} is up to date ({len(history.applied)} migration(s) applied)."
    return f"{env}: " + "; ".join(parts) + f" ({len(history.applied)} applied)."


def status_suggestions(env: str, history: History, provider_ok: bool) -> list[str]:
    """The next command for what status found."""
    if history.failed:
        return resolve_suggestions(env, history.failed[0].migration_name)
    if history.modified:
        return [f"Restore the original {history.modified[0]}/migration.sql (git checkout)"]
    if not provider_ok:
        return ["Point the environment at a database of the migrations' provider"]
    if history.pending:
        return [f"faber-db migrate {env} --dry-run", f"faber-db migrate {env}"]
    return []


def last_backup(config: Config, env: str, warnings: list[str]) -> dict | None:
    """The newest valid backup of env (id, time, reason), or None."""
    try:
        entries = [
            e
            for e in Catalogue.for_config(config).entries()
            if e.environment == env and e.status == "valid"
        ]
    except CatalogueCorruptError as exc:
        warnings.append(f"Cannot read the backup catalogue: {exc.message}")
        return None
    if not entries:
        return None
    newest = max(entries, key=lambda e: (e.timestamp, e.id))
    return {
        "backup_id": newest.id,
        "timestamp": newest.timestamp,
        "reason": newest.reason,
        "migrations": newest.migrations.get("applied_count"),
    }
