"""Upload a verified backup to the repository and record where its copy is.

The order is what makes the repository trustworthy: the backup id is claimed
(an object naming this machine and project, written once) when it is chosen, the backup is streamed up and
its stored checksum compared, the entry is written beside it (once), and only
then does the local entry say `remote: verified`. A failure at any step leaves
the local backup valid and the entry saying `remote: missing` with the error.
"""

from __future__ import annotations

import hashlib
import shutil
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING

from faber_db.backup_manager.catalogue import BackupEntry, Catalogue
from faber_db.backup_manager.remote.client import make_client
from faber_db.backup_manager.remote.repository import claim_id, object_key, write_entry
from faber_db.backup_manager.remote.settings import RemoteSettings, remote_settings
from faber_db.backup_manager.remote.transfer import upload_path
from faber_db.errors import FaberError, RemoteFailedError
from faber_db.timeutil import format_utc, utcnow

if TYPE_CHECKING:
    from faber_db.config import Config
    from faber_db.result import Progress


def remote_state(entry: BackupEntry) -> dict:
    """The entry's `remote` record ({} when it has none)."""
    remote = entry.extra.get("remote")
    return remote if isinstance(remote, dict) else {}


def is_remote_verified(entry: BackupEntry) -> bool:
    """True when the entry records a verified remote copy."""
    return remote_state(entry).get("status") == "verified"


def id_claimer(config: Config, env: str) -> Callable[[str], bool] | None:
    """For choosing a new backup id: a function telling whether another machine already
    claimed a candidate id (claiming it otherwise); None without a repository. When the
    repository cannot be reached the id is not refused: the upload fails and says so."""
    settings = remote_settings(config)
    if settings is None:
        return None

    def taken(candidate: str) -> bool:
        try:
            client = make_client(settings)
            return not claim_id(client, settings, env, candidate, claim_token(config))
        except FaberError:
            return False

    return taken


def publish_backup(
    config: Config, entry: BackupEntry, progress: Progress | None = None
) -> tuple[BackupEntry, list[str]]:
    """Upload `entry`'s backup, verify the copy and record it; returns the updated entry
    and warnings. Never raises for a remote failure: the entry says remote `missing`."""
    settings = remote_settings(config)
    if settings is None:
        return entry, []
    catalogue = Catalogue.for_config(config)
    key = object_key(settings, entry)
    if progress:
        progress(f"uploading to {settings.location}")
    try:
        record = upload_entry(
            settings, make_client(settings), catalogue, entry, claim_token(config)
        )
    except FaberError as error:
        missing = {
            "status": "missing",
            "key": key,
            "error": error.message,
            "attempted_at": format_utc(utcnow()),
        }
        updated = record_remote(catalogue, entry, missing) or entry
        return updated, [
            f"{entry.id}: no remote copy ({error.message}); the local backup is "
            f"valid. Upload it later: faber-db backups sync {entry.environment}"
        ]
    updated = record_remote(catalogue, entry, record) or entry
    warnings = [] if settings.keep_local else remove_local_copy(catalogue, updated)
    return updated, warnings


def upload_entry(
    settings: RemoteSettings, client, catalogue: Catalogue, entry: BackupEntry, token: str
) -> dict:
    """Claim the id (again: a no-op when it is ours), upload the backup, check the
    stored copy, write the entry beside it; the verified `remote` record. Raises
    FaberError on any failure."""
    if not claim_id(client, settings, entry.environment, entry.id, token):
        raise RemoteFailedError(
            f"Another machine already stored a backup {entry.id} of {entry.environment} in "
            f"{settings.location}; this one cannot be uploaded under the same id.",
            suggestions=[f"faber-db backup {entry.environment}  (a new backup gets a new id)"],
        )
    path = catalogue.backup_path(entry)
    stored = upload_path(client, settings, path, object_key(settings, entry))
    record = {
        "status": "verified",
        "key": stored.key,
        "verified_at": format_utc(utcnow()),
        "sha256": stored.sha256,
        "size": stored.size,
    }
    shared = entry.to_dict() | {"remote": record}
    shared.pop("restores", None)
    write_entry(client, settings, shared)
    return record


def claim_token(config: Config) -> str:
    """What a claim holds: a stable, non-identifying name of this machine and project."""
    where = f"{socket.gethostname()}\n{config.project_root.resolve()}"
    return hashlib.sha256(where.encode()).hexdigest()


def record_remote(catalogue: Catalogue, entry: BackupEntry, record: dict) -> BackupEntry | None:
    """Set the entry's `remote` record under the catalogue lock; the updated entry."""
    with catalogue.update() as entries:
        for index, current in enumerate(entries):
            if current.id == entry.id:
                current.extra["remote"] = record
                entries[index] = current
                return current
    return None


def remove_local_copy(catalogue: Catalogue, entry: BackupEntry) -> list[str]:
    """keep_local: false: the verified remote copy is the backup from now on."""
    path = catalogue.backup_path(entry)
    try:
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    except OSError as exc:
        return [f"{entry.id}: the local copy {path} could not be removed ({exc})"]
    return []
