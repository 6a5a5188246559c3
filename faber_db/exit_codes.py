"""Process exit codes: one documented, stable table (docs/COMMANDS.md lists them).

Only cli.py turns a Result or a FaberError into one of these; everything else
returns Results or raises FaberErrors.
"""

from enum import IntEnum


class ExitStatus(IntEnum):
    """Every exit code faber-db can return. Values never change once released."""

    SUCCESS = 0
    FAILURE = 1
    USAGE = 2
    CONFIG_ERROR = 3
    UNKNOWN_ENVIRONMENT = 4
    MISSING_ENV_VAR = 5
    UNSUPPORTED_URL = 6
    CONNECTION_FAILED = 7
    AUTH_FAILED = 8
    TOOL_MISSING = 9
    DISK_SPACE = 10
    CATALOGUE_CORRUPT = 11
    BACKUP_NOT_FOUND = 12
    BACKUP_INVALID = 13
    APPROVAL_REQUIRED = 14
    LOCK_TIMEOUT = 15
    MIGRATION_FAILED = 16
    MIGRATIONS_PENDING = 17
    MIGRATION_STATE = 18
    BLOCKED_BY_POLICY = 19
    VERIFICATION_FAILED = 20
    RESTORE_FAILED = 21
    DRIFT_FOUND = 22
    HEALTH_FAILED = 23
    REMOTE_COPY_MISSING = 24
    REMOTE_FAILED = 25
    DECRYPTION_FAILED = 26
    REHEARSAL_REQUIRED = 27
    DOWN_MIGRATION_FAILED = 28
    INTERRUPTED = 130


# Error code (FaberError.code) -> exit status. The one place that maps them.
EXIT_STATUS_BY_ERROR_CODE: dict[str, ExitStatus] = {
    "error": ExitStatus.FAILURE,
    "usage_error": ExitStatus.USAGE,
    "invalid_input": ExitStatus.USAGE,
    "unsupported_option": ExitStatus.USAGE,
    "config_not_found": ExitStatus.CONFIG_ERROR,
    "config_invalid": ExitStatus.CONFIG_ERROR,
    "unknown_environment": ExitStatus.UNKNOWN_ENVIRONMENT,
    "missing_env_var": ExitStatus.MISSING_ENV_VAR,
    "unsupported_url": ExitStatus.UNSUPPORTED_URL,
    "invalid_url": ExitStatus.UNSUPPORTED_URL,
    "connection_failed": ExitStatus.CONNECTION_FAILED,
    "database_not_found": ExitStatus.CONNECTION_FAILED,
    "auth_failed": ExitStatus.AUTH_FAILED,
    "tool_missing": ExitStatus.TOOL_MISSING,
    "tool_failed": ExitStatus.FAILURE,
    "insufficient_disk_space": ExitStatus.DISK_SPACE,
    "disk_full": ExitStatus.DISK_SPACE,
    "catalogue_corrupt": ExitStatus.CATALOGUE_CORRUPT,
    "backup_not_found": ExitStatus.BACKUP_NOT_FOUND,
    "backup_invalid": ExitStatus.BACKUP_INVALID,
    "backup_failed": ExitStatus.FAILURE,
    "lock_timeout": ExitStatus.LOCK_TIMEOUT,
    "migration_failed": ExitStatus.MIGRATION_FAILED,
    "migration_state": ExitStatus.MIGRATION_STATE,
    "blocked_by_policy": ExitStatus.BLOCKED_BY_POLICY,
    "verification_failed": ExitStatus.VERIFICATION_FAILED,
    "restore_failed": ExitStatus.RESTORE_FAILED,
    "down_migration_failed": ExitStatus.DOWN_MIGRATION_FAILED,
    "rehearsal_required": ExitStatus.REHEARSAL_REQUIRED,
    "audit_unavailable": ExitStatus.FAILURE,
    "drift_found": ExitStatus.DRIFT_FOUND,
    "shadow_not_empty": ExitStatus.FAILURE,
    "shadow_replay_failed": ExitStatus.FAILURE,
    "report_write_failed": ExitStatus.FAILURE,
    "health_failed": ExitStatus.HEALTH_FAILED,
    "identity_missing": ExitStatus.DECRYPTION_FAILED,
    "decryption_failed": ExitStatus.DECRYPTION_FAILED,
    "remote_copy_missing": ExitStatus.REMOTE_COPY_MISSING,
    "remote_failed": ExitStatus.REMOTE_FAILED,
    "interrupted": ExitStatus.INTERRUPTED,
}


def exit_status_for_error(code: str) -> ExitStatus:
    """Return the exit status for an error code; unknown codes are plain failures."""
    return EXIT_STATUS_BY_ERROR_CODE.get(code, ExitStatus.FAILURE)
