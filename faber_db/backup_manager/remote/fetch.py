"""One catalogue for the team: the repository's entries beside the local ones, and
a remote copy brought back (streamed, sha256 checked) before a restore uses it.

A remote-only backup is downloaded into a private workspace in the environment's
backups folder; only once its sha256 and size are the recorded ones is it renamed
into place and its entry added to the local catalogue. Until then nothing else
sees it, so a restore or deep verification never starts from unchecked bytes.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from faber_db.backup_manager.catalogue import BackupEntry, Catalogue
from faber_db.backup_manager.remote.client import make_client
from faber_db.backup_manager.remote.publish import remote_state
from faber_db.backup_manager.remote.repository import (
    ARCHIVE_SUFFIX,
    RemoteRecord,
    remote_records,
)
from faber_db.backup_manager.remote.settings import remote_settings
from faber_db.backup_manager.remote.transfer import StoredObject, download_to
from faber_db.errors import BackupInvalidError, BackupNotFoundError
from faber_db.fsutil import fsync_directory
from faber_db.workspace import partial_workspace

if TYPE_CHECKING:
    from faber_db.config import Config
    from faber_db.result import Progress


def repository_records(
    config: Config, env: str | None = None
) -> tuple[list[RemoteRecord], list[str]]:
    """The repository's entries (empty without a repository), and warnings."""
    settings = remote_settings(config)
    if settings is None:
        return [], []
    return remote_records(make_client(settings), settings, env)


def remote_only_entries(
    config: Config, local: list[BackupEntry], env: str | None = None
) -> tuple[list[BackupEntry], list[str]]:
    """Entries in the repository that the local catalogue does not have, with their
    `file` pointing where a download would put them; and warnings."""
    records, warnings = repository_records(config, env)
    known = {e.id for e in local}
    found = []
    for record in records:
        if record.entry.id in known:
            continue
        if not record.object_present:
            warnings.append(
                f"{record.entry.id}: its entry is in the repository but its backup object is "
                "not (still uploading, or lost); it is not listed"
            )
            continue
        found.append(localised(config, record.entry))
    return found, warnings


def localised(config: Config, entry: BackupEntry) -> BackupEntry:
    """The entry with `file` in this project's backups folder (where a download goes),
    without what only the machine that took it can vouch for (its audit anchor, its
    restores)."""
    name = Path(remote_state(entry)["key"]).name
    if entry.format == "directory":
        name = name.removesuffix(ARCHIVE_SUFFIX)
    final = config.backups_dir / entry.environment / name
    try:
        file = str(final.relative_to(config.project_root))
    except ValueError:
        file = str(final)
    extra = {k: v for k, v in entry.extra.items() if k not in ("restores", "safety_for")}
    # The audit anchor is the other machine's trail's: kept here it would make this
    # project's `audit --verify` report its own trail as rewritten.
    return replace(entry, file=file, extra=extra, audit_head=None)


def find_remote_entry(config: Config, backup_id: str) -> BackupEntry:
    """A backup known only to the repository, or BackupNotFoundError."""
    entries, _ = remote_only_entries(config, [])
    for entry in entries:
        if entry.id == backup_id:
            return entry
    raise BackupNotFoundError(
        f"No backup with id {backup_id} in {Catalogue.for_config(config).path} nor in the "
        f"repository {remote_settings(config).location}.",
        suggestions=["faber-db backups list"],
    )


def ensure_local_copy(
    config: Config, entry: BackupEntry, progress: Progress | None = None
) -> BackupEntry:
    """The entry, its file present: downloaded from the repository (and the entry added
    to the local catalogue) when only the remote copy is left. Unchanged when the file
    is there or there is no verified remote copy (the caller's checks then refuse)."""
    catalogue = Catalogue.for_config(config)
    path = catalogue.backup_path(entry)
    remote = remote_state(entry)
    settings = remote_settings(config)
    if path.exists() or remote.get("status") != "verified" or settings is None:
        return entry
    if progress:
        progress(f"downloading {entry.id} from {settings.location}")
    stored = StoredObject(remote["key"], remote["sha256"], remote["size"])
    with partial_workspace(path.parent) as work:
        staged = work / path.name
        download_to(make_client(settings), settings, stored, staged, entry.format == "directory")
        _check_plain_sha256(entry, staged)
        os.rename(staged, path)
        fsync_directory(path.parent)
    return _remember(catalogue, entry)


def _check_plain_sha256(entry: BackupEntry, staged: Path) -> None:
    """A directory archive unpacked: its files must hash as the entry recorded."""
    if entry.format != "directory":
        return
    from faber_db.backup_manager.file_verification import backup_sha256

    if backup_sha256(staged) != entry.sha256:
        raise BackupInvalidError(
            f"The archive of {entry.id} in the repository unpacks to other files than the "
            "backup that was uploaded; it was not used and nothing was touched.",
            suggestions=["faber-db backups list"],
        )


def _remember(catalogue: Catalogue, entry: BackupEntry) -> BackupEntry:
    with catalogue.update() as entries:
        if not any(e.id == entry.id for e in entries):
            entries.append(entry)
    return entry
