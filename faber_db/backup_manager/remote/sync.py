"""`faber-db backups sync [env]`: upload every valid local backup whose remote copy
is missing, after aborting the unfinished multipart uploads an interrupted upload of
those same backups left behind (nobody else uploads them: their ids are claimed by
this project)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from faber_db.backup_manager.catalogue import BackupEntry, Catalogue
from faber_db.backup_manager.remote.client import make_client
from faber_db.backup_manager.remote.publish import (
    claim_token,
    is_remote_verified,
    record_remote,
    remove_local_copy,
    upload_entry,
)
from faber_db.backup_manager.remote.repository import (
    abort_stale_uploads,
    delete_objects,
    list_objects,
    object_key,
)
from faber_db.backup_manager.remote.settings import RemoteSettings, remote_settings
from faber_db.config import check_environment_name
from faber_db.errors import ConfigInvalidError, FaberError
from faber_db.exit_codes import ExitStatus
from faber_db.result import Result
from faber_db.timeutil import format_utc, utcnow

if TYPE_CHECKING:
    from faber_db.config import Config
    from faber_db.result import Progress


def configured_settings(config: Config) -> RemoteSettings:
    """backup.remote, or ConfigInvalidError for a command that needs it."""
    settings = remote_settings(config)
    if settings is None:
        raise ConfigInvalidError(
            "No remote repository is configured (backup.remote), so there is nothing to sync.",
            suggestions=["Add backup.remote to the config (see docs/CONFIGURATION.md)"],
        )
    return settings


def sync_backups(
    config: Config, env: str | None = None, progress: Progress | None = None
) -> Result:
    """Upload what is missing; the Result lists what was uploaded, what failed and
    which stale multipart uploads were aborted."""
    if env is not None:
        check_environment_name(env)
    settings = configured_settings(config)
    client = make_client(settings)
    list_objects(client, settings, env)  # wrong credentials or bucket: RemoteFailedError now
    catalogue = Catalogue.for_config(config)
    pending = _pending(catalogue, env)
    aborted = abort_stale_uploads(client, settings, {object_key(settings, e) for e in pending})
    uploaded, failed = [], []
    for entry in pending:
        if progress:
            progress(f"uploading {entry.id} to {settings.location}")
        try:
            record = upload_entry(settings, client, catalogue, entry, claim_token(config))
        except FaberError as error:
            record_remote(catalogue, entry, _missing(settings, entry, error))
            failed.append({"backup_id": entry.id, "error": error.message})
            continue
        updated = record_remote(catalogue, entry, record) or entry
        uploaded.append(entry.id)
        if not settings.keep_local:
            remove_local_copy(catalogue, updated)
    return _result(env, settings, uploaded, failed, aborted, pending)


def _pending(catalogue: Catalogue, env: str | None) -> list[BackupEntry]:
    """Valid local backups, file present, without a verified remote copy."""
    return [
        e
        for e in catalogue.entries()
        if (env is None or e.environment == env)
        and e.status == "valid"
        and not is_remote_verified(e)
        and catalogue.path_problem(e) is None
        and catalogue.backup_path(e).exists()
    ]


def _missing(settings: RemoteSettings, entry: BackupEntry, error: FaberError) -> dict:
    return {
        "status": "missing",
        "key": object_key(settings, entry),
        "error": error.message,
        "attempted_at": format_utc(utcnow()),
    }


def _result(env, settings, uploaded, failed, aborted, pending) -> Result:
    result = {
        "repository": settings.location,
        "uploaded": uploaded,
        "failed": failed,
        "aborted_uploads": aborted,
    }
    if failed:
        return Result(
            operation="backups-sync",
            status="error",
            environment=env,
            result=result,
            message=f"Uploaded {len(uploaded)} of {len(pending)} backup(s) to "
            f"{settings.location}; {len(failed)} failed: {failed[0]['error']}",
            error={"code": "remote_failed", "message": failed[0]["error"]},
            suggestions=["faber-db backups sync  (again, once the repository is reachable)"],
            exit_status=ExitStatus.REMOTE_FAILED,
        )
    return Result(
        operation="backups-sync",
        environment=env,
        result=result,
        message=f"Uploaded {len(uploaded)} backup(s) to {settings.location}"
        + (f"; aborted {len(aborted)} unfinished upload(s)" if aborted else "")
        + ("." if uploaded else "; every valid backup already had a verified copy."),
    )


def remove_remote_copies(config: Config, entries: list[BackupEntry]) -> list[str]:
    """Delete the repository objects of backups removed from the catalogue (prune,
    delete); warnings for what could not be deleted (the entries are already gone)."""
    settings = remote_settings(config)
    with_remote = [e for e in entries if e.extra.get("remote")]
    if settings is None or not with_remote:
        return []
    warnings = []
    try:
        client = make_client(settings)
        for entry in with_remote:
            delete_objects(client, settings, entry)
    except FaberError as error:
        warnings.append(
            f"the remote copies of {', '.join(e.id for e in with_remote)} could not all be "
            f"deleted: {error.message}; delete them from {settings.location} by hand"
        )
    return warnings
