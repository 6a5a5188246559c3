"""Deep verification of a backup (`faber-db backups verify <id> --deep`): the file
checks of the backup manager, then a restore into a scratch database that is
compared with the backup's manifest and dropped.

It lives with the rollback manager because it is a restore; the backup manager
knows nothing of it (this module imports the backup manager, never the reverse).
"""

from __future__ import annotations

import time

from faber_db.backup_manager import encryption
from faber_db.backup_manager.catalogue import BackupEntry, Catalogue
from faber_db.backup_manager.manager import check_backup_file, verification_result
from faber_db.config import Config
from faber_db.engines.restorer import BackupSource
from faber_db.errors import RestoreFailedError
from faber_db.exit_codes import exit_status_for_error
from faber_db.restore_lock import restore_lock, restorer_of
from faber_db.result import Progress, Result
from faber_db.rollback_manager.manager import check_engine, driver_errors
from faber_db.rollback_manager.manifest_verification import verify_against_backup
from faber_db.timeutil import format_utc, utcnow


def verify_backup_deep(config: Config, backup_id: str, progress: Progress | None = None) -> Result:
    """`faber-db backups verify <id> --deep`: the file checks, then (when they pass) a
    restore into a scratch database compared with the manifest, recorded as
    verification.deep. Restored data that differs marks the backup invalid."""
    check = check_backup_file(config, backup_id, need_identity=True)
    if not check.verification.passed:
        return verification_result(check, check.record_outcome(check.status))
    check.record["deep"] = deep_verify_record(config, check.entry, progress)
    status = "invalid" if check.record["deep"]["content_mismatch"] else check.status
    updated = check.record_outcome(status)
    if not check.record["deep"]["passed"]:
        return deep_failure_result(check.entry, updated, status)
    return verification_result(check, updated)


def deep_verify(config: Config, entry: BackupEntry, progress: Progress | None = None) -> dict:
    """Restore `entry` into a scratch database, compare it with the manifest, drop it."""
    target = config.resolve(entry.environment)
    check_engine(entry, target)
    started = time.monotonic()
    with restore_lock(config, target.environment):
        restorer = restorer_of(config, target, progress)
        recovered = restorer.recover()
        path = Catalogue.for_config(config).backup_path(entry)
        # The identity was checked with the file (check_backup_file) or by the caller.
        source = BackupSource(entry, path, encryption.identity_for(config, entry))
        with (
            driver_errors(restorer),
            restorer.scratch_copy(source) as scratch,
            scratch.session() as db,
        ):
            verification = verify_against_backup(scratch, db, entry, config.migrations_table)
    return {
        **verification.to_dict(),
        "scratch_database": scratch.conn.database,
        "duration_seconds": round(time.monotonic() - started, 3),
        "recovered": recovered,
    }


def deep_verify_record(
    config: Config, entry: BackupEntry, progress: Progress | None = None
) -> dict:
    """deep_verify for the catalogue: a dump that does not load is recorded as a failed
    deep check (not raised); `content_mismatch` says the restored data itself differs."""
    try:
        record = deep_verify(config, entry, progress)
    except RestoreFailedError as error:
        return {
            "passed": False,
            "verified_at": format_utc(utcnow()),
            "problems": [f"the backup does not restore: {error.message}"],
            "content_mismatch": False,
        }
    record["content_mismatch"] = not record["passed"]
    return record


def deep_failure_result(entry: BackupEntry, updated: BackupEntry, status: str) -> Result:
    """The error Result of a failed `backups verify --deep`."""
    deep = updated.verification["deep"]
    problems = "; ".join(deep["problems"])
    code = "verification_failed" if deep["content_mismatch"] else "restore_failed"
    return Result(
        operation="backups-verify",
        status="error",
        environment=entry.environment,
        result={"backup_id": entry.id, "status": status, "verification": updated.verification},
        message=f"{entry.id} failed the deep verification (now marked {status}): {problems}",
        error={"code": code, "message": problems},
        suggestions=[f"Take a new backup: faber-db backup {entry.environment}"],
        exit_status=exit_status_for_error(code),
    )
