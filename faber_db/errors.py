"""Typed errors. Each carries a stable `code`, a message for people, and the
commands to run next; exit_codes.py maps codes to exit statuses."""

from __future__ import annotations


class FaberError(Exception):
    """Base of every error faber-db reports to its user."""

    code = "error"

    def __init__(
        self,
        message: str,
        *,
        suggestions: list[str] | None = None,
        details: dict | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.suggestions = list(suggestions or [])
        self.details = dict(details or {})


class InvalidInputError(FaberError):
    """A label, name, id or option value that is not acceptable."""

    code = "invalid_input"


class UsageError(FaberError):
    """The command line itself is wrong: an unknown command or flag, a missing
    argument, a value outside its choices, or flags that exclude each other."""

    code = "usage_error"


class UnsupportedOptionError(FaberError):
    """An option that this engine or tool cannot honour (e.g. directory format on MySQL)."""

    code = "unsupported_option"


class ConfigNotFoundError(FaberError):
    """No config file was found walking up from the working directory."""

    code = "config_not_found"


class ConfigInvalidError(FaberError):
    """The config file could not be parsed or does not match its schema."""

    code = "config_invalid"


class UnknownEnvironmentError(FaberError):
    """The environment name is not defined in the config."""

    code = "unknown_environment"


class MissingEnvVarError(FaberError):
    """The variable that should hold an environment's URL is not set."""

    code = "missing_env_var"


class UnsupportedUrlError(FaberError):
    """A connection URL with a scheme faber-db does not support."""

    code = "unsupported_url"


class InvalidUrlError(FaberError):
    """A connection URL that cannot be parsed."""

    code = "invalid_url"


class ConnectionFailedError(FaberError):
    """The database server could not be reached."""

    code = "connection_failed"


class DatabaseNotFoundError(FaberError):
    """The server is reachable but the database does not exist."""

    code = "database_not_found"


class AuthFailedError(FaberError):
    """The server rejected the credentials."""

    code = "auth_failed"


class ToolMissingError(FaberError):
    """A native tool (pg_dump, mariadb-dump, zstd...) is not installed."""

    code = "tool_missing"


class ToolFailedError(FaberError):
    """A native tool ran and failed."""

    code = "tool_failed"


class InsufficientDiskSpaceError(FaberError):
    """The estimated backup size exceeds the free space; nothing was started."""

    code = "insufficient_disk_space"


class DiskFullError(FaberError):
    """The disk filled up while writing."""

    code = "disk_full"


class CatalogueCorruptError(FaberError):
    """backups.json cannot be read; faber-db refuses to overwrite it."""

    code = "catalogue_corrupt"


class BackupNotFoundError(FaberError):
    """No backup with that id (or no backup matching the request)."""

    code = "backup_not_found"


class BackupInvalidError(FaberError):
    """A backup that is missing, damaged, tampered with or not valid."""

    code = "backup_invalid"


class BackupOutsideFolderError(BackupInvalidError):
    """A catalogue entry whose file is not inside its environment's backups folder
    (hand-edited or tampered): faber-db neither reads nor deletes it."""


class BackupFailedError(FaberError):
    """Creating a backup failed; nothing was recorded."""

    code = "backup_failed"


class LockTimeoutError(FaberError):
    """Another faber-db run holds the lock longer than we are willing to wait."""

    code = "lock_timeout"


class MigrationFailedError(FaberError):
    """A migration failed while being applied."""

    code = "migration_failed"


class MigrationStateError(FaberError):
    """The migration history forbids deploying (failed, edited or unknown migrations)."""

    code = "migration_state"


class PolicyBlockedError(FaberError):
    """The safety policy forbids this operation outright."""

    code = "blocked_by_policy"


class RehearsalRequiredError(FaberError):
    """safety.require_rehearsal: the plan has no recent passing rehearsal."""

    code = "rehearsal_required"


class VerificationFailedError(FaberError):
    """A restored database does not match the backup's manifest."""

    code = "verification_failed"


class RestoreFailedError(FaberError):
    """A restore failed; the target keeps its previous content."""

    code = "restore_failed"


class DownMigrationFailedError(FaberError):
    """A down file failed during a rollback by down migrations; the error names what
    stayed applied and what to run."""

    code = "down_migration_failed"


class AuditUnavailableError(FaberError):
    """The audit line of a gated command on a protected environment could not be written."""

    code = "audit_unavailable"


class DriftFoundError(FaberError):
    """The live schema differs from what its applied migrations produce."""

    code = "drift_found"


class ShadowNotEmptyError(FaberError):
    """The shadow database given for drift holds objects (drift never drops them)."""

    code = "shadow_not_empty"


class ShadowReplayError(FaberError):
    """An applied migration failed when drift replayed it into the shadow database."""

    code = "shadow_replay_failed"


class HealthFailedError(FaberError):
    """A health check failed (`faber-db health`, or `migrate` with
    safety.health_check_before_deploy); details["result"] holds the report."""

    code = "health_failed"


class RemoteCopyMissingError(FaberError):
    """A backup is valid locally but has no verified copy in the remote repository
    (the upload failed, or an environment in backup.remote.required needs one)."""

    code = "remote_copy_missing"


class RemoteFailedError(FaberError):
    """The remote repository refused or could not be reached (wrong credentials, a
    missing bucket, a network error) in a command whose whole job is remote."""

    code = "remote_failed"


class OperationInterruptedError(FaberError):
    """The user interrupted the operation (Ctrl-C or a signal)."""

    code = "interrupted"


class ReportWriteError(FaberError):
    """`faber-db report` could not write its HTML file (nothing was written)."""

    code = "report_write_failed"


class IdentityMissingError(FaberError):
    """An encrypted backup must be read, and the age identity (private key) file is not
    named, not there or not private."""

    code = "identity_missing"


class DecryptionFailedError(FaberError):
    """The age identity does not open an encrypted backup (the wrong key, or damage)."""

    code = "decryption_failed"
