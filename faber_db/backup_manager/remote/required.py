"""backup.remote.required: in these environments a backup counts only once its
remote copy is verified."""

from __future__ import annotations

from typing import TYPE_CHECKING

from faber_db.backup_manager.remote.publish import is_remote_verified, remote_state
from faber_db.backup_manager.remote.settings import remote_settings
from faber_db.errors import RemoteCopyMissingError

if TYPE_CHECKING:
    from faber_db.backup_manager.catalogue import BackupEntry
    from faber_db.config import Config


def refuse_without_remote_copy(config: Config, entry: BackupEntry) -> None:
    """Raise RemoteCopyMissingError when `entry`'s environment requires a verified
    remote copy and it has none (migrate calls this before applying anything)."""
    settings = remote_settings(config)
    if settings is None or not settings.is_required(entry.environment):
        return
    if is_remote_verified(entry):
        return
    why = remote_state(entry).get("error", "it was not uploaded")
    raise RemoteCopyMissingError(
        f"The pre-migration backup {entry.id} is valid locally but has no verified copy in "
        f"{settings.location} ({why}), and backup.remote.required lists {entry.environment}: "
        "no migration was applied.",
        suggestions=[
            f"faber-db backups sync {entry.environment}  (once the repository is reachable)",
            f"faber-db migrate {entry.environment}  (again, after the sync)",
        ],
        details={"backup_id": entry.id},
    )
