"""backups.json: the catalogue of backups.

Reads never lock (writes are atomic renames, so a reader always sees a whole
file). Every change is a read-modify-write under an exclusive file lock,
written atomically with the previous version kept as backups.json.prev. A
damaged catalogue is never overwritten: every command refuses and explains.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING

from faber_db.backup_manager.ids import check_backup_id
from faber_db.errors import BackupNotFoundError, BackupOutsideFolderError, CatalogueCorruptError
from faber_db.fsutil import atomic_write
from faber_db.locks import file_lock
from faber_db.resources import validation_errors

if TYPE_CHECKING:
    from faber_db.config import Config

CATALOGUE_VERSION = "1.0"
LOCK_TIMEOUT_SECONDS = 120.0


@dataclass
class BackupEntry:
    """One backup as recorded in backups.json (the original plugin's fields and ours)."""

    id: str
    environment: str
    engine: str
    database: str
    timestamp: str
    label: str | None
    reason: str
    file: str
    size_bytes: int
    compressed: bool
    compression: str
    format: str
    sha256: str
    duration_seconds: float
    tool_version: str
    server_version: str
    migrations: dict
    retention_days: int
    expires_at: str
    status: str
    verification: dict
    manifest: dict
    created_by: str = "faber-db"
    # The audit trail's head ({"path", "seq", "hash"}) when the entry was made: an
    # anchor away from the trail, so `audit --verify` catches truncation and rewrites.
    audit_head: dict | None = None
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict) -> BackupEntry:
        """Build from JSON, keeping unknown keys so a rewrite never drops them."""
        names = {f.name for f in fields(cls)} - {"extra"}
        known = {k: v for k, v in data.items() if k in names}
        return cls(**known, extra={k: v for k, v in data.items() if k not in names})

    def to_dict(self) -> dict:
        """JSON form, unknown keys included."""
        data = asdict(self)
        extra = data.pop("extra")
        if data["audit_head"] is None:
            del data["audit_head"]
        return {**data, **extra}


class Catalogue:
    """The backups.json of one project."""

    def __init__(self, path: Path, project_root: Path) -> None:
        self.path = path
        self.project_root = project_root

    @classmethod
    def for_config(cls, config: Config) -> Catalogue:
        """The catalogue of a project (the one way to find it from a config)."""
        return cls(config.catalogue_path, config.project_root)

    @property
    def backups_dir(self) -> Path:
        """The backups directory: backups.json and one folder per environment."""
        return self.path.parent

    def backup_path(self, entry: BackupEntry) -> Path:
        """The absolute path of an entry's backup file (or directory), checked.

        The one place a catalogue path becomes a file path: it must lie inside
        <backups dir>/<environment>/ both as written and after following
        symlinks, or BackupOutsideFolderError is raised (nothing read or deleted).
        The path returned is the entry's own (a symlink stays a symlink).
        """
        folder = (self.backups_dir / entry.environment).resolve()
        file = Path(entry.file)
        written = file if file.is_absolute() else self.project_root / file
        try:
            where = written.parent.resolve() / written.name
            target = written.resolve()
        except (OSError, RuntimeError, ValueError):  # a symlink loop, a NUL byte
            where = target = None
        if where is None or not all(_strictly_inside(p, folder) for p in (where, target)):
            raise BackupOutsideFolderError(
                f"Backup {entry.id}: its file {entry.file!r} is not inside {folder} (the backups "
                f"folder of {entry.environment}); faber-db will not read or delete it. "
                "Nothing was touched.",
                suggestions=[
                    f"Correct or remove the entry {entry.id} in {self.path} by hand",
                    f"faber-db backups list {entry.environment}",
                ],
            )
        return where

    def path_problem(self, entry: BackupEntry) -> str | None:
        """Why backup_path refuses this entry, or None when its path is acceptable."""
        try:
            self.backup_path(entry)
        except BackupOutsideFolderError as error:
            return error.message
        return None

    @property
    def lock_path(self) -> Path:
        """The lock file serialising writers."""
        return self.path.with_name(".backups.json.lock")

    def entries(self) -> list[BackupEntry]:
        """All entries (empty when there is no catalogue yet)."""
        if not self.path.exists():
            return []
        return [BackupEntry.from_dict(item) for item in self._read()["backups"]]

    def get(self, backup_id: str) -> BackupEntry:
        """The entry with this id, or BackupNotFoundError."""
        check_backup_id(backup_id)
        for entry in self.entries():
            if entry.id == backup_id:
                return entry
        raise BackupNotFoundError(
            f"No backup with id {backup_id} in {self.path}.",
            suggestions=["faber-db backups list"],
        )

    def update_entry(self, backup_id: str, **changes) -> BackupEntry | None:
        """Change fields of one entry under the lock; the updated entry, or None when
        no entry has that id (any more)."""
        with self.update() as entries:
            for index, entry in enumerate(entries):
                if entry.id == backup_id:
                    entries[index] = replace(entry, **changes)
                    return entries[index]
        return None

    @contextmanager
    def update(self) -> Iterator[list[BackupEntry]]:
        """Lock, read, let the caller change the list, then write it back atomically."""
        with file_lock(self.lock_path, LOCK_TIMEOUT_SECONDS, "the backup catalogue lock"):
            entries = self.entries()
            yield entries
            self._write(entries)

    def _read(self) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise self._corrupt(f"it is not readable JSON ({exc})") from None
        problems = validation_errors(data, "backups")
        if problems:
            raise self._corrupt("; ".join(problems[:5]))
        return data

    def _corrupt(self, reason: str) -> CatalogueCorruptError:
        previous = self.path.with_name(self.path.name + ".prev")
        suggestions = [f"Inspect and repair {self.path} by hand"]
        if previous.exists():
            suggestions.insert(
                0, f"The previous version is intact at {previous}: cp {previous} {self.path}"
            )
        return CatalogueCorruptError(
            f"The backup catalogue {self.path} is damaged: {reason}. faber-db will not overwrite it; "
            "no backup file was touched.",
            suggestions=suggestions,
        )

    def _write(self, entries: list[BackupEntry]) -> None:
        document = {"schema_version": CATALOGUE_VERSION, "backups": [e.to_dict() for e in entries]}
        problems = validation_errors(document, "backups")
        if problems:  # a bug of ours; never write a catalogue we could not read back
            raise CatalogueCorruptError(
                "Refusing to write an invalid catalogue: " + "; ".join(problems[:5])
            )
        text = json.dumps(document, indent=2, sort_keys=False) + "\n"
        atomic_write(self.path, text.encode("utf-8"), keep_previous=True)


def _strictly_inside(path: Path, folder: Path) -> bool:
    return path != folder and path.is_relative_to(folder) and ".." not in path.parts
