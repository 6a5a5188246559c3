"""`faber-db generate-migration <name>`: a new `<timestamp>_<name>/migration.sql`
in Prisma's layout, from templates/migration.sql.j2, with Prisma's timestamp
format and name rules, and migration_lock.toml when the directory has none.
An existing folder is never overwritten.
"""

from __future__ import annotations

import os
import shlex
from datetime import datetime
from pathlib import Path

from faber_db.config import Config
from faber_db.engines import prisma_providers
from faber_db.errors import FaberError, InvalidInputError
from faber_db.fsutil import atomic_write, fsync_directory
from faber_db.migration_deployer import prisma_layout as prisma
from faber_db.resources import template_path
from faber_db.result import Result
from faber_db.timeutil import utcnow


def generate_migration(
    config: Config,
    name: str,
    from_file: str | None = None,
    now: datetime | None = None,
    down_from_file: str | None = None,
) -> Result:
    """Create the migration folder and its migration.sql (and down.sql); return where it is."""
    moment = now or utcnow()
    folder_name = prisma.migration_folder_name(name, moment)
    sql = _read_given(config, name, from_file, "--from-file")
    down = _read_given(config, name, down_from_file, "--down-from-file")
    directory = config.migrations_dir
    warnings = list(config.warnings) + ensure_lock_file(directory, config.provider)
    folder = directory / folder_name
    script = render_migration(folder_name, moment, sql)
    down_script = down.encode("utf-8") if down_from_file else None
    write_new_migration(folder, script, down_script)
    relative = _display(folder / prisma.MIGRATION_FILE, config.project_root)
    return Result(
        operation="generate-migration",
        result={
            "migration": folder_name,
            "path": relative,
            "checksum": prisma.checksum(script),
            "from_file": from_file,
            "down_path": _display(folder / prisma.DOWN_FILE, config.project_root)
            if down_from_file
            else None,
            "down_from_file": down_from_file,
        },
        message=f"Created {relative}" + ("" if sql else " (write its SQL, then migrate)"),
        warnings=warnings,
        suggestions=["faber-db migrate <env> --dry-run"],
    )


def _read_given(config: Config, name: str, path: str | None, flag: str) -> str:
    """The text of a --from-file or --down-from-file (empty when not given)."""
    if not path:
        return ""
    try:
        return read_sql_file(Path(path), config.max_migration_bytes, flag)
    except InvalidInputError as error:
        error.suggestions = [
            f"ls {shlex.quote(str(Path(path).parent))}  (the SQL files there)",
            f"faber-db generate-migration {shlex.quote(name)}  (an empty migration.sql to write by hand)",
        ]
        raise


def render_migration(folder_name: str, moment: datetime, sql: str) -> bytes:
    """The migration.sql text: a commented header, then the SQL or a placeholder."""
    from jinja2 import Template

    template = Template(
        template_path("migration.sql.j2").read_text(encoding="utf-8"),
        trim_blocks=True,
        keep_trailing_newline=True,
    )
    text = template.render(
        folder=folder_name, created=moment.strftime("%Y-%m-%d %H:%M:%S"), sql=sql.rstrip()
    )
    return text.encode("utf-8")


def read_sql_file(
    path: Path, max_bytes: int = prisma.DEFAULT_MAX_MIGRATION_BYTES, flag: str = "--from-file"
) -> str:
    """The SQL given with `flag`: UTF-8 text of at most max_bytes, without NUL bytes.

    What check and migrate would refuse in the migration is refused here already;
    only max_bytes + 1 bytes are ever read.
    """
    try:
        with open(path, "rb") as handle:
            raw = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise InvalidInputError(f"{flag} {path}: no such file.") from None
    except IsADirectoryError:
        raise InvalidInputError(f"{flag} {path}: is a directory, not a SQL file.") from None
    if len(raw) > max_bytes:
        raise InvalidInputError(
            f"{flag} {path}: larger than {max_bytes // 1048576} MiB, the limit for a "
            "migration (migrations.max_file_mb)."
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInputError(f"{flag} {path}: not UTF-8 text.") from None
    if "\0" in text:
        raise InvalidInputError(f"{flag} {path}: holds a NUL byte, which is not SQL.")
    return text


def ensure_lock_file(directory: Path, provider: str | None) -> list[str]:
    """Write migration_lock.toml if missing; return warnings."""
    lock = directory / prisma.LOCK_FILE
    if lock.exists():
        return []
    if provider not in prisma_providers():
        return [f"No {prisma.LOCK_FILE} written: set database.provider in the config."]
    atomic_write(lock, prisma.lock_file_text(provider).encode("utf-8"))
    os.chmod(lock, 0o644)
    return []


def write_new_migration(folder: Path, script: bytes, down: bytes | None = None) -> None:
    """Create folder/migration.sql (and down.sql); refuse if the folder already exists."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        folder.mkdir()
    except FileExistsError:
        raise FaberError(
            f"{folder} already exists; faber-db never overwrites a migration.",
            suggestions=["Wait a second and retry, or choose another name"],
        ) from None
    _write_new(folder / prisma.MIGRATION_FILE, script)
    if down is not None:
        _write_new(folder / prisma.DOWN_FILE, down)
    fsync_directory(folder)


def _write_new(path: Path, data: bytes) -> None:
    with open(path, "xb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
