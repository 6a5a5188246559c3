"""Take one backup: pre-flight checks, the engine's create-backup handler, a
manifest read from the same snapshot as the dump, verification, and only then
an atomic rename into place and a catalogue entry.

Nothing is recorded unless verification passed; a failed or interrupted
backup leaves no file behind (see workspace.py for how). With a remote
repository, the id is claimed there when chosen and the recorded backup is then
uploaded (remote/publish.py).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from faber_db import __version__
from faber_db.audit_policy import audit_anchor
from faber_db.backup_manager import encryption
from faber_db.backup_manager.catalogue import BackupEntry, Catalogue
from faber_db.backup_manager.file_verification import Verification, verify_file
from faber_db.backup_manager.ids import check_reason, new_backup_id, normalise_label
from faber_db.backup_manager.remote.client import warm_client
from faber_db.backup_manager.remote.publish import id_claimer, publish_backup
from faber_db.backup_manager.remote.settings import remote_settings
from faber_db.config import Config, Target
from faber_db.credentials import SecretFiles, secret_files
from faber_db.engines import engine_for
from faber_db.engines.base import Engine
from faber_db.errors import (
    BackupInvalidError,
    FaberError,
    InsufficientDiskSpaceError,
    InvalidInputError,
    OperationInterruptedError,
    ToolMissingError,
    UnsupportedOptionError,
)
from faber_db.fsutil import fsync_directory
from faber_db.handler_runner import HandlerCall, RunningHandler, handler_paths_env
from faber_db.human_text import human_size
from faber_db.interrupts import interrupts_deferred
from faber_db.result import Progress
from faber_db.timeutil import format_utc, utcnow
from faber_db.workspace import partial_workspace, remove_stale_workspaces

COMPRESSION_SUFFIX = {"zstd": ".zst", "gzip": ".gz", "none": ""}
COMPRESSIONS = ("zstd", "gzip", "none")
# Expected backup size as a share of the database's on-disk size (dumps drop
# indexes and free space; compression shrinks typical data 3-10x). Generous.
SIZE_FACTOR = {"zstd": 0.5, "gzip": 0.5, "none": 1.2}
SPACE_MARGIN_BYTES = 8 * 1024 * 1024


@dataclass
class BackupOptions:
    """What the user asked for; None means the engine's or config's default."""

    label: str | None = None
    reason: str = "manual"
    format: str | None = None
    compression: str | None = None
    retention_days: int | None = None


@dataclass
class FinishedDump:
    """A verified dump waiting in its workspace, with everything its entry records."""

    output: Path
    created: dict  # the create-backup handler's result
    manifest: dict
    migrations: dict
    verification: Verification
    started: datetime
    duration: float
    server_version: str


@dataclass
class BackupPlan:
    """Resolved choices for one backup."""

    label: str | None
    reason: str
    format: str
    compression: str
    compression_level: int | None
    retention_days: int
    warnings: list[str]
    encryption: encryption.EncryptionSettings | None = None


def plan_backup(config: Config, engine: Engine, options: BackupOptions) -> BackupPlan:
    """Validate the options and fill in defaults (format, compression, retention)."""
    label = normalise_label(options.label)
    reason = check_reason(options.reason)
    fmt = options.format or engine.backup_formats[0]
    if fmt not in engine.backup_formats:
        raise UnsupportedOptionError(
            f"{engine.name} backups support the formats: {', '.join(engine.backup_formats)} (not '{fmt}').",
            details={"option": "--format", "valid_value": engine.backup_formats[0]},
        )
    compression, warnings = choose_compression(config, fmt, options.compression)
    if options.retention_days is not None and options.retention_days < 1:
        raise UnsupportedOptionError(
            "--retention must be at least 1 day.",
            details={"option": "--retention", "valid_value": None},
        )
    retention = config.retention_days(reason, options.retention_days)
    level = compression_level(config, compression)
    encrypt = plan_encryption(config, fmt)
    return BackupPlan(label, reason, fmt, compression, level, retention, warnings, encrypt)


def plan_encryption(config: Config, fmt: str) -> encryption.EncryptionSettings | None:
    """The configured encryption, refused for formats that cannot be encrypted in the
    stream (a directory archive is many files written by pg_dump itself)."""
    settings = encryption.encryption_settings(config)
    if settings is None:
        return None
    if fmt == "directory":
        raise UnsupportedOptionError(
            "backup.encryption encrypts the backup stream, and the directory format is "
            "written by pg_dump as many files: use --format custom (the default) or sql.",
            details={"option": "--format", "valid_value": "custom"},
        )
    encryption.require_age()
    return settings


def compression_level(config: Config, compression: str) -> int | None:
    """The configured `backup.compression_level`, checked against the compressor's range
    (None: the handler's default, zstd 1 and gzip 6)."""
    level = config.section("backup").get("compression_level")
    if level is None or compression == "none":
        return None
    if compression == "gzip" and level > 9:
        raise UnsupportedOptionError(
            f"backup.compression_level {level} is out of gzip's range (1-9).",
            suggestions=["Set backup.compression_level to 1-9, or use zstd (1-19)"],
        )
    return level


def choose_compression(config: Config, fmt: str, requested: str | None) -> tuple[str, list[str]]:
    """The compression to use, falling back from zstd to gzip only when not asked for."""
    if requested is not None:
        if requested not in COMPRESSIONS:
            raise UnsupportedOptionError(f"Unknown compression '{requested}' (zstd, gzip or none).")
        if requested == "zstd" and fmt != "directory" and not shutil.which("zstd"):
            raise ToolMissingError(
                "zstd is not installed.", suggestions=["apt-get install zstd", "--compression gzip"]
            )
        return requested, []
    default = config.section("backup").get("compression", "zstd")
    if fmt == "directory" and default == "zstd":
        return "gzip", []  # pg_dump < 16 compresses directory archives only with gzip
    if default == "zstd" and not shutil.which("zstd"):
        return "gzip", [
            "zstd is not installed; compressing with gzip instead (apt-get install zstd)"
        ]
    return default, []


def backup_suffix(engine: Engine, fmt: str, compression: str, encrypted: bool = False) -> str:
    """File suffix: .dump.zst, .sql.gz, .sqlite3.zst, .dir (pg_dump compresses inside it);
    .age after it for an encrypted backup."""
    if fmt == "directory":
        return engine.file_extensions[fmt]
    suffix = engine.file_extensions[fmt] + COMPRESSION_SUFFIX[compression]
    return suffix + (encryption.SUFFIX if encrypted else "")


def retry_suggestions(env: str, error: FaberError) -> list[str]:
    """The backup command again, with the refused option corrected (or left out)."""
    option, value = error.details.get("option"), error.details.get("valid_value")
    fixed = f" {option} {value}" if option and value else ""
    return [f"faber-db backup {env}{fixed}", "faber-db backup --help"]


def take_backup(
    config: Config, target: Target, options: BackupOptions, progress: Progress | None = None
) -> tuple[BackupEntry, list[str]]:
    """Create, verify and record a backup of `target`; return its entry and warnings."""
    engine = engine_for(target.conn)
    # Before any handler starts, so no handler inherits the repository's secret.
    remote = remote_settings(config)
    if remote is not None:
        warm_client(remote)
    try:
        plan = plan_backup(config, engine, options)
    except (InvalidInputError, UnsupportedOptionError) as error:
        error.suggestions = error.suggestions or retry_suggestions(target.environment, error)
        raise
    env_dir = config.backups_dir / target.environment
    env_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    remove_stale_workspaces(env_dir)
    started, clock = utcnow(), time.monotonic()
    arrived: list[int] = []
    with ExitStack() as held, partial_workspace(env_dir) as work:
        with engine.session() as db, secret_files() as secrets:
            server_version = engine.server_version(db)
            check_disk_space(env_dir, engine.database_size(db), plan.compression)
            suffix = backup_suffix(engine, plan.format, plan.compression, bool(plan.encryption))
            output = work / ("backup" + suffix)
            created, manifest, migrations = _dump(
                config, engine, db, plan, output, work, secrets, progress
            )
        verification = initial_verification(engine, output, plan, created, progress)
        if not verification.passed:
            raise BackupInvalidError(
                "The new backup failed verification and was discarded (nothing recorded): "
                + "; ".join(verification.problems),
                suggestions=["Retry the backup", "Check free disk space and the server's logs"],
            )
        dump = FinishedDump(
            output,
            created,
            manifest,
            migrations,
            verification,
            started,
            time.monotonic() - clock,
            server_version,
        )
        # From the recording to the end of the workspace's clean-up, an interrupt
        # waits: the backup is recorded whole, and the command then says so.
        held.enter_context(interrupts_deferred(arrived))
        entry = _record(config, target, plan, dump)
    if arrived:
        raise OperationInterruptedError(
            f"Interrupted as backup {entry.id} was being recorded: it is recorded, complete"
            " and verified, and it stays; nothing else ran.",
            suggestions=[f"faber-db backups list {target.environment}"],
        )
    entry, remote_warnings = publish_backup(config, entry, progress)
    return entry, plan.warnings + remote_warnings


def initial_verification(
    engine: Engine, output: Path, plan: BackupPlan, created: dict, progress: Progress | None
) -> Verification:
    """The checks right after creation.

    Stream formats were verified by the handler while being written: the exact
    bytes that went to disk decompressed in full and passed the format check, and
    their sha256 is the recorded one; the file was fsync'd. Directory archives are
    checked now. `backups verify` and every restore re-read the file from disk.
    """
    if "checks" in created:
        checks = created["checks"]
        problems = list(created["problems"])
        if bool(plan.encryption) != created.get("encrypted", False):
            problems.append("the handler did not encrypt the backup as configured")
            checks = {**checks, "format": "failed"}
        return Verification(
            "passed", checks["decompression"], checks["format"], problems, created["sha256"]
        )
    _notify(progress, "verifying")
    return verify_file(engine.name, output, plan.format, plan.compression, created["sha256"])


def _dump(config, engine, db, plan, output: Path, work: Path, secrets: SecretFiles, progress):
    keep_copy = work / "copy.sqlite3" if engine.file_database else None
    env = engine.handler_environment(secrets) | handler_paths_env(
        format=plan.format,
        compression=plan.compression,
        compression_level=plan.compression_level,
        output=output,
        work_dir=work,
        keep_copy=keep_copy,
        jobs=config.section("backup").get("jobs", 2),
        age_recipients=plan.encryption and encryption.write_recipients(plan.encryption, work),
    )
    with engine.snapshot(db) as snapshot:
        migrations = engine.migration_summary(db, config.migrations_table)
        running = RunningHandler(
            HandlerCall(
                engine.name,
                "create-backup",
                env | snapshot.handler_env,
                [engine.conn.password or ""],
                pass_fds=tuple(secrets.fds),
            )
        )
        try:

            def report_progress() -> None:
                _notify(progress, f"dumping: {human_size(_size(output))}")

            # SQLite's manifest and migrations come from the copy that is backed up.
            from_copy = None
            if keep_copy is None:
                manifest = read_manifest(engine, db, snapshot.exact)
            else:
                from_copy = _manifest_once_copied(
                    engine,
                    running,
                    keep_copy,
                    config.migrations_table,
                    lambda: _notify(progress, "taking a consistent copy"),
                )
            created = running.wait(poll=report_progress)
        except BaseException:
            running.kill()
            raise
    if keep_copy is not None:
        manifest, migrations = from_copy or _manifest_from_copy(
            engine, keep_copy, config.migrations_table
        )
    elif manifest["row_counts_exact"] is None:
        manifest["row_counts_exact"] = bool(snapshot.exact)
    return created, manifest, migrations


def _manifest_once_copied(
    engine: Engine, running: RunningHandler, copy: Path, table: str, poll: Callable[[], None]
) -> tuple[dict, dict] | None:
    """SQLite: read the manifest from the handler's consistent copy as soon as it is
    complete, while the handler integrity-checks and compresses that same copy (all
    three only read it). None when the handler ended before signalling the copy."""
    ready, waits = copy.with_name("copy.ready"), 0  # beside it, in the work directory
    while not ready.exists():
        if running.finished.wait(0.02):
            return None
        waits += 1
        if waits % 10 == 0:
            poll()
    try:
        return _manifest_from_copy(engine, copy, table)
    except Exception:
        # A damaged copy also fails the handler's integrity_check, whose error says more.
        running.wait()
        raise


def _manifest_from_copy(engine: Engine, copy: Path, table: str) -> tuple[dict, dict]:
    copy_engine = engine_for(engine.conn.with_database(str(copy)))
    with copy_engine.session() as db:
        return read_manifest(copy_engine, db, True), copy_engine.migration_summary(db, table)


def read_manifest(engine: Engine, db, exact: bool | None) -> dict:
    """Row count of every table and the schema fingerprint, as later checks compare them."""
    return {
        "tables": engine.row_counts(db),
        "schema_fingerprint": engine.schema_fingerprint(db),
        "table_fingerprints": engine.table_fingerprints(db),
        "row_counts_exact": exact,
    }


def check_disk_space(directory: Path, database_bytes: int, compression: str) -> None:
    """Refuse before starting when the estimated backup would not fit."""
    estimate = int(database_bytes * SIZE_FACTOR[compression]) + SPACE_MARGIN_BYTES
    free = shutil.disk_usage(directory).free
    if estimate > free:
        raise InsufficientDiskSpaceError(
            f"Not enough disk space for this backup: about {human_size(estimate)} needed, "
            f"{human_size(free)} free in {directory}. Nothing was started.",
            suggestions=[
                "Free disk space, e.g. faber-db backups prune --yes",
                "Use --compression zstd",
            ],
            details={
                "required_bytes": estimate,
                "available_bytes": free,
                "database_bytes": database_bytes,
            },
        )


def _record(config: Config, target: Target, plan: BackupPlan, dump: FinishedDump) -> BackupEntry:
    """Under the catalogue lock: pick a unique id, rename the dump into place, add the entry.

    If anything fails after the rename, the renamed file is removed again, so no
    unrecorded file that looks like a backup is left behind. The caller holds Ctrl-C
    and SIGTERM from here on (take_backup): one arriving just after the catalogue was
    replaced would otherwise remove a file the catalogue lists."""
    catalogue = Catalogue.for_config(config)
    env_dir = dump.output.parent.parent
    final: Path | None = None
    try:
        with catalogue.update() as entries:
            suffix = dump.output.name.removeprefix("backup")
            ids = {e.id for e in entries}
            claimed_elsewhere = id_claimer(config, target.environment) or (lambda _: False)
            backup_id = new_backup_id(
                dump.started,
                plan.label,
                lambda candidate: (
                    candidate in ids
                    or (env_dir / (candidate + suffix)).exists()
                    or claimed_elsewhere(candidate)
                ),
            )
            final = env_dir / (backup_id + suffix)
            os.rename(dump.output, final)
            fsync_directory(env_dir)
            entry = _entry(config, target, plan, backup_id, final, dump)
            entries.append(entry)
    except BaseException:
        if final is not None and final.exists():
            shutil.rmtree(final) if final.is_dir() else final.unlink()
        raise
    return entry


def _entry(
    config: Config,
    target: Target,
    plan: BackupPlan,
    backup_id: str,
    final: Path,
    dump: FinishedDump,
) -> BackupEntry:
    try:
        file = str(final.relative_to(config.project_root))
    except ValueError:
        file = str(final)
    return BackupEntry(
        id=backup_id,
        environment=target.environment,
        engine=target.engine,
        database=target.conn.database,
        timestamp=format_utc(dump.started),
        label=plan.label,
        reason=plan.reason,
        file=file,
        size_bytes=int(dump.created["size_bytes"]),
        compressed=plan.compression != "none",
        compression=plan.compression,
        format=plan.format,
        sha256=dump.created["sha256"],
        duration_seconds=round(dump.duration, 3),
        tool_version=dump.created["tool_version"],
        server_version=dump.server_version,
        migrations=dump.migrations,
        retention_days=plan.retention_days,
        expires_at=format_utc(dump.started + timedelta(days=plan.retention_days)),
        status="valid",
        verification=dump.verification.to_dict(),
        manifest=dump.manifest,
        created_by=f"faber-db {__version__}",
        audit_head=audit_anchor(config),
        extra={"encryption": encryption.encryption_record(plan.encryption)}
        if plan.encryption
        else {},
    )


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _notify(progress: Progress | None, message: str) -> None:
    if progress is not None:
        progress(message)
