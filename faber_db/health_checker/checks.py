"""The checks of `faber-db health`, one function each (issue 15).

Each takes the HealthContext (config, target, engine, an open connection) and
returns one Check: a name, ok / warn / fail, a detail for people, and the
command that fixes it. A check never raises for what it finds; health.py turns
an unexpected FaberError of one check into a failing Check of that name.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faber_db.backup_manager.catalogue import BackupEntry, Catalogue
from faber_db.backup_manager.create import SIZE_FACTOR, SPACE_MARGIN_BYTES, choose_compression
from faber_db.backup_manager.file_verification import is_unchanged
from faber_db.config import Config, Target
from faber_db.engines.base import Engine
from faber_db.errors import BackupOutsideFolderError, CatalogueCorruptError, FaberError
from faber_db.handler_runner import HandlerCall, run_handler
from faber_db.human_text import human_duration, human_size
from faber_db.migration_deployer import prisma_layout as prisma
from faber_db.migration_deployer.history import History, diagnose
from faber_db.migration_deployer.statements import database_errors
from faber_db.migration_deployer.tracking import TrackingTable
from faber_db.timeutil import parse_utc, utcnow

OK, WARN, FAIL = "ok", "warn", "fail"
# Round trips above this are worth a look (a migration runs hundreds of them).
SLOW_ROUND_TRIP_MS = 200.0
ROUND_TRIPS = 3
# An active transaction older than this would hold a migration's DDL back.
DEFAULT_LONG_TRANSACTION_SECONDS = 60.0
# A protected environment's newest backup should be at most this old.
DEFAULT_PROTECTED_BACKUP_AGE_HOURS = 24.0
SHOWN = 3  # sessions, differences, missing files named in a detail


@dataclass
class Check:
    """One line of the report."""

    name: str
    status: str
    detail: str
    fix: str | None = None
    data: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON form: the shared shape (name, status, detail, fix) plus measured data."""
        out = {"name": self.name, "status": self.status, "detail": self.detail, "fix": self.fix}
        if self.data:
            out["data"] = self.data
        return out


@dataclass
class HealthContext:
    """What every check may use; `db` is None when the connection failed."""

    config: Config
    target: Target
    engine: Engine
    db: Any = None
    deep: bool = False
    server_version: str = ""

    @property
    def env(self) -> str:
        """The environment name."""
        return self.target.environment

    def valid_backups(self) -> list[BackupEntry]:
        """The environment's valid backups, newest first (CatalogueCorruptError)."""
        entries = [
            e
            for e in Catalogue.for_config(self.config).entries()
            if e.environment == self.env and e.status == "valid"
        ]
        return sorted(entries, key=lambda e: (e.timestamp, e.id), reverse=True)


# -- the server ---------------------------------------------------------------------
def check_connection(ctx: HealthContext, connect_seconds: float) -> Check:
    """Connected, with the connect time and the best of a few round trips."""
    trips = []
    for _ in range(ROUND_TRIPS):
        started = time.perf_counter()
        ctx.engine.query(ctx.db, "SELECT 1")
        trips.append((time.perf_counter() - started) * 1000)
    best = min(trips)
    data = {"connect_ms": round(connect_seconds * 1000, 1), "round_trip_ms": round(best, 2)}
    detail = (
        f"{ctx.target.conn.redacted()}: connected in {data['connect_ms']} ms, "
        f"round trip {data['round_trip_ms']} ms"
    )
    if best > SLOW_ROUND_TRIP_MS:
        return Check(
            "connection",
            WARN,
            detail + f" (slow: over {SLOW_ROUND_TRIP_MS:.0f} ms)",
            "Run faber-db from a host closer to the database server",
            data,
        )
    return Check("connection", OK, detail, None, data)


def connection_failed(ctx: HealthContext, error: FaberError) -> Check:
    """The failing connection check, with the error's own next step."""
    fix = error.suggestions[0] if error.suggestions else f"faber-db status {ctx.env}"
    return Check("connection", FAIL, error.message, fix.replace("<env>", ctx.env))


def check_server_version(ctx: HealthContext) -> Check:
    """The server's version (what backups and restores must be compatible with)."""
    return Check(
        "server_version",
        OK,
        f"{ctx.engine.name} {ctx.server_version}",
        None,
        {"version": ctx.server_version},
    )


def check_backup_tools(ctx: HealthContext) -> Check:
    """The native dump tool is installed and can back this server up."""
    try:
        output = run_handler(HandlerCall(ctx.engine.name, "tool-versions", {}, timeout=30))
    except FaberError as error:
        fix = error.suggestions[0] if error.suggestions else "Install the engine's client tools"
        return Check("backup_tools", FAIL, error.message, fix)
    tool, version = output["tool"], output["tool_version"]
    data = {"tool": tool, "version": version, **output.get("details", {})}
    problem = ctx.engine.backup_tool_problem(version, ctx.server_version)
    if problem is not None:
        return Check("backup_tools", FAIL, problem[0], problem[1], data)
    return Check("backup_tools", OK, f"{tool} {version}", None, data)


# -- migrations -----------------------------------------------------------------------
def check_migrations(ctx: HealthContext) -> Check:
    """Failed or unfinished rows, edited files and a migration_lock.toml of another
    provider fail; unknown rows, pending migrations and an unbaselined database warn."""
    directory = ctx.config.migrations_dir
    provider = prisma.read_lock_provider(directory)
    if provider not in (None, ctx.engine.prisma_provider):
        return Check(
            "migrations",
            FAIL,
            f"migration_lock.toml says provider '{provider}' but the database is "
            f"{ctx.engine.prisma_provider}",
            "Point the environment at a database of the migrations' provider",
        )
    local = prisma.list_migrations(directory)
    with database_errors(ctx.engine, "reading the tracking table"):
        rows = TrackingTable(ctx.engine, ctx.db, ctx.config.migrations_table).read()
        unbaselined = rows is None and bool(local) and bool(ctx.engine.list_tables(ctx.db))
    history = diagnose(local, rows)
    if unbaselined:
        return Check(
            "migrations",
            WARN,
            "the database has tables but no tracking table: migrate would refuse it (P3005)",
            f"faber-db resolve {ctx.env} --applied {local[0].name}",
        )
    data = {
        "applied": len(history.applied),
        "pending": [m.name for m in history.pending],
        "failed": [r.migration_name for r in history.failed],
        "modified": history.modified,
        "missing_from_directory": history.missing,
    }
    return _migrations_verdict(ctx.env, history, data)


def _migrations_verdict(env: str, history: History, data: dict) -> Check:
    if history.failed:
        row = history.failed[0]
        kind = "failed" if row.logs else "unfinished (a deploy is running, or was killed)"
        return Check(
            "migrations",
            FAIL,
            f"{row.migration_name} is {kind}: its row has no finished_at",
            # What `status` suggests too (deploy.resolve_suggestions): the deployer
            # depends on this package, so the text is not imported from it.
            f"faber-db resolve {env} --rolled-back {row.migration_name}  (after undoing "
            "its partial changes; the next migrate re-runs it)",
            data,
        )
    if history.modified:
        return Check(
            "migrations",
            FAIL,
            f"edited after being applied: {', '.join(history.modified)}",
            f"git checkout -- <migrations dir>/{history.modified[0]}/migration.sql",
            data,
        )
    if history.missing:
        return Check(
            "migrations",
            WARN,
            f"applied but not in the migrations directory: {', '.join(history.missing)}",
            "Restore the missing folders from version control",
            data,
        )
    if history.pending:
        return Check(
            "migrations",
            WARN,
            f"{len(history.pending)} pending ({len(history.applied)} applied)",
            f"faber-db migrate {env}",
            data,
        )
    return Check("migrations", OK, f"up to date ({len(history.applied)} applied)", None, data)


# -- drift ----------------------------------------------------------------------------
def check_drift(ctx: HealthContext) -> Check:
    """The live schema against what the applied migrations produce (drift helper)."""
    try:
        from faber_db.health_checker.drift import detect_drift
    except ImportError:
        return Check("drift", OK, "drift check not available")
    try:
        found = detect_drift(ctx.config, ctx.env)
    except FaberError as error:
        return Check(
            "drift",
            WARN,
            f"drift check could not run: {error.message}",
            f"faber-db drift {ctx.env}",
        )
    differences = list(found.get("differences") or [])
    data = {
        "differences": len(differences),
        "checksum_changed": found.get("checksum_changed") or [],
        "orphan_rows": found.get("orphan_rows") or [],
    }
    if not found.get("drift"):
        return Check("drift", OK, "the schema matches the applied migrations", None, data)
    named = ", ".join(_difference_text(d) for d in differences[:SHOWN])
    more = f" and {len(differences) - SHOWN} more" if len(differences) > SHOWN else ""
    return Check(
        "drift",
        FAIL,
        f"{len(differences)} difference(s) from the migrations: {named}{more}".rstrip(": "),
        f"faber-db drift {ctx.env}",
        data,
    )


def _difference_text(difference: dict) -> str:
    what = " ".join(
        str(difference[k]) for k in ("object_type", "object", "attribute") if difference.get(k)
    )
    return f"{what} {difference.get('kind', 'changed')}".strip()


# -- backups --------------------------------------------------------------------------
def max_backup_age_hours(config: Config, env: str) -> float | None:
    """health.max_backup_age_hours for env: a number for every environment or a map
    env -> hours (null: no limit); unset, 24 for a protected environment, else none."""
    setting = config.section("health").get("max_backup_age_hours")
    if isinstance(setting, dict):
        if env in setting:
            return setting[env]
        setting = None
    if setting is not None:
        return float(setting)
    return DEFAULT_PROTECTED_BACKUP_AGE_HOURS if config.is_protected(env) else None


def check_backup_age(ctx: HealthContext, backups: list[BackupEntry]) -> Check:
    """The newest valid backup is younger than the environment's limit."""
    limit = max_backup_age_hours(ctx.config, ctx.env)
    fix = f"faber-db backup {ctx.env}"
    if not backups:
        if limit is None:
            return Check("backup_age", OK, "no backup yet (no age limit for this environment)")
        return Check("backup_age", FAIL, f"no valid backup (limit {limit:g} h)", fix)
    newest = backups[0]
    hours = (utcnow() - parse_utc(newest.timestamp)).total_seconds() / 3600
    data = {"backup_id": newest.id, "age_hours": round(hours, 2), "max_age_hours": limit}
    detail = f"newest {newest.id}, {human_duration(hours * 3600)} old"
    if limit is not None and hours > limit:
        return Check("backup_age", FAIL, f"{detail}: older than {limit:g} h", fix, data)
    suffix = f" (limit {limit:g} h)" if limit is not None else ""
    return Check("backup_age", OK, detail + suffix, None, data)


def check_backup_files(ctx: HealthContext, backups: list[BackupEntry]) -> Check:
    """Every valid backup's file is there (a stat); the newest one's checksum with --deep."""
    if not backups:
        return Check("backup_files", OK, "no backup to check")
    catalogue = Catalogue.for_config(ctx.config)
    missing = [e.id for e in backups if not _present(catalogue, e)]
    newest = backups[0]
    data = {"checked": len(backups), "missing": missing, "deep": ctx.deep}
    if newest.id in missing:
        return Check(
            "backup_files",
            FAIL,
            f"the newest backup's file is gone: {newest.file}",
            f"faber-db backup {ctx.env}",
            data,
        )
    if ctx.deep and not _unchanged(catalogue, newest):
        return Check(
            "backup_files",
            FAIL,
            f"{newest.id}: the file's sha256 differs from the one recorded (changed or damaged)",
            f"faber-db backup {ctx.env}",
            data,
        )
    if missing:
        return Check(
            "backup_files",
            WARN,
            f"{len(missing)} older backup file(s) gone: {', '.join(missing[:SHOWN])}",
            f"faber-db backups verify {missing[0]}",
            data,
        )
    checked = "present, checksum matches" if ctx.deep else "present"
    return Check("backup_files", OK, f"{len(backups)} backup file(s) {checked}", None, data)


def _present(catalogue: Catalogue, entry: BackupEntry) -> bool:
    try:
        path = catalogue.backup_path(entry)
    except BackupOutsideFolderError:
        return False
    return path.is_dir() if entry.format == "directory" else path.is_file()


def _unchanged(catalogue: Catalogue, entry: BackupEntry) -> bool:
    return is_unchanged(catalogue.backup_path(entry), entry.sha256)


REMOTE_OK = ("verified",)  # the catalogue's remote.status: verified or missing
REMOTE_FAILED = ("missing",)


def check_backup_remote(ctx: HealthContext, newest: BackupEntry) -> Check | None:
    """The newest backup's remote copy, when the entry records one (None: no remote)."""
    remote = newest.extra.get("remote")
    if not isinstance(remote, dict):
        return None
    status = str(remote.get("status", "unknown"))
    data = {"backup_id": newest.id, **{k: remote.get(k) for k in ("status", "verified_at")}}
    detail = f"{newest.id}: remote copy {status}"
    if status in REMOTE_OK:
        return Check("backup_remote", OK, detail, None, data)
    fix = f"faber-db backups show {newest.id}"
    return Check("backup_remote", FAIL if status in REMOTE_FAILED else WARN, detail, fix, data)


def unreadable_catalogue(error: CatalogueCorruptError) -> Check:
    """The backup checks' verdict when backups.json cannot be read."""
    fix = error.suggestions[0] if error.suggestions else "faber-db backups list"
    return Check("backup_age", FAIL, f"cannot read the backup catalogue: {error.message}", fix)


# -- disk, blockers, size -------------------------------------------------------------
def check_disk_space(ctx: HealthContext) -> Check:
    """Room for the next backup, estimated as `backup` estimates it before starting."""
    fmt = ctx.engine.backup_formats[0]
    compression, _ = choose_compression(ctx.config, fmt, None)
    size = ctx.engine.database_size(ctx.db)
    needed = int(size * SIZE_FACTOR[compression]) + SPACE_MARGIN_BYTES
    folder = _existing_folder(ctx.config.backups_dir / ctx.env)
    free = shutil.disk_usage(folder).free
    data = {"required_bytes": needed, "available_bytes": free, "directory": str(folder)}
    detail = f"next backup about {human_size(needed)}, {human_size(free)} free in {folder}"
    if needed > free:
        return Check("disk_space", FAIL, detail, "faber-db backups prune --yes", data)
    if needed * 2 > free:
        return Check(
            "disk_space", WARN, detail + " (room for one more)", "faber-db backups prune", data
        )
    return Check("disk_space", OK, detail, None, data)


def _existing_folder(path: Path) -> Path:
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def long_transaction_seconds(config: Config) -> float:
    """health.long_transaction_seconds (default 60)."""
    value = config.section("health").get("long_transaction_seconds")
    return float(value) if value is not None else DEFAULT_LONG_TRANSACTION_SECONDS


def check_blockers(ctx: HealthContext) -> Check:
    """Sessions idle in a transaction, or in one for long: a migration would wait on them."""
    if not ctx.engine.lists_transactions:
        return Check("blockers", OK, f"not inspected: {ctx.engine.name} has no sessions to list")
    limit = long_transaction_seconds(ctx.config)
    sessions = ctx.engine.open_transactions(ctx.db)
    blocking = [s for s in sessions if s["idle"] or (s["transaction_seconds"] or 0) >= limit]
    data = {"sessions": blocking, "open_transactions": len(sessions)}
    if not blocking:
        return Check("blockers", OK, f"no session idle in a transaction or open over {limit:g} s")
    shown = "; ".join(_session_text(s) for s in blocking[:SHOWN])
    more = f"; and {len(blocking) - SHOWN} more" if len(blocking) > SHOWN else ""
    return Check(
        "blockers",
        WARN,
        f"{len(blocking)} session(s) would block a migration: {shown}{more}",
        ctx.engine.end_session_command(blocking[0]["pid"]),
        data,
    )


def _session_text(session: dict) -> str:
    state = "idle in transaction" if session["idle"] else session.get("state") or "active"
    age = human_duration(session["transaction_seconds"] or 0)
    query = session["query"][:80] or "-"
    return f"pid {session['pid']} ({state}, {age}): {query}"


def check_size(ctx: HealthContext, backups: list[BackupEntry]) -> Check:
    """The database's size now, and the growth of its backups across the catalogue."""
    size = ctx.engine.database_size(ctx.db)
    data: dict = {"database_bytes": size, "backups": len(backups)}
    detail = f"{human_size(size)} now"
    if len(backups) >= 2:
        newest, oldest = backups[0], backups[-1]
        days = (parse_utc(newest.timestamp) - parse_utc(oldest.timestamp)).total_seconds() / 86400
        rows_then, rows_now = _rows(oldest), _rows(newest)
        data.update(
            oldest_backup_bytes=oldest.size_bytes,
            newest_backup_bytes=newest.size_bytes,
            days=round(days, 2),
            oldest_rows=rows_then,
            newest_rows=rows_now,
        )
        detail += (
            f"; backups {human_size(oldest.size_bytes)} -> {human_size(newest.size_bytes)}"
            f" ({_percent(oldest.size_bytes, newest.size_bytes)}), rows {rows_then} -> {rows_now},"
            f" over {days:.1f} day(s)"
        )
    return Check("size", OK, detail, None, data)


def _rows(entry: BackupEntry) -> int:
    return sum((entry.manifest or {}).get("tables", {}).values())


def _percent(before: int, after: int) -> str:
    if before <= 0:
        return "new"
    return f"{(after - before) * 100 / before:+.0f}%"
