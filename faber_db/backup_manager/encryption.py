"""age encryption of backups: the recipients new backups are encrypted to, and the
identity (private key) file that reading an encrypted backup needs.

Encryption itself runs in the handler pipeline (dump | compress | age -R FILE);
this module resolves and checks the settings. Recipients are public keys; the
identity is read only by `age -i PATH` inside a handler, never by faber-db, and
its path comes from the variable named by `backup.encryption.identity_file_env`.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

from faber_db.backup_manager.catalogue import BackupEntry
from faber_db.config import Config
from faber_db.errors import (
    ConfigInvalidError,
    DecryptionFailedError,
    IdentityMissingError,
    ToolMissingError,
)
from faber_db.handler_runner import HandlerCall, handler_paths_env, run_handler
from faber_db.workspace import partial_workspace

METHOD = "age"
SUFFIX = ".age"
DEFAULT_IDENTITY_ENV = "FABER_DB_AGE_IDENTITY"
# An age X25519 recipient: "age1" and 58 bech32 characters (no 1, b, i, o).
RECIPIENT_RE = re.compile(r"^age1[ac-hj-np-z02-9]{58}$")
AGE_HINT = "Install age (apt-get install age)"


@dataclass(frozen=True)
class EncryptionSettings:
    """`backup.encryption`, resolved: the recipients and the identity's variable."""

    recipients: tuple[str, ...]
    identity_env: str


def encryption_settings(config: Config) -> EncryptionSettings | None:
    """The configured encryption of new backups, checked; None when not configured."""
    section = config.section("backup").get("encryption")
    if not section:
        return None
    recipients = list(section.get("recipients") or [])
    if section.get("recipients_file"):
        recipients += _recipients_from_file(config.project_path(section["recipients_file"]))
    if not recipients:
        raise ConfigInvalidError(
            "backup.encryption names no recipient: set recipients (age1... public keys) "
            "or recipients_file.",
            suggestions=["age-keygen -o key.txt prints the public key to put in recipients"],
        )
    bad = [r for r in recipients if not RECIPIENT_RE.match(r)]
    if bad:
        raise ConfigInvalidError(
            f"backup.encryption: {bad[0][:80]!r} is not an age X25519 recipient (age1...).",
            suggestions=["Copy the 'Public key: age1...' line that age-keygen printed"],
        )
    return EncryptionSettings(tuple(dict.fromkeys(recipients)), identity_env(config))


def identity_env(config: Config) -> str:
    """The variable that names the identity file (FABER_DB_AGE_IDENTITY by default)."""
    section = config.section("backup").get("encryption") or {}
    return section.get("identity_file_env") or DEFAULT_IDENTITY_ENV


def _recipients_from_file(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigInvalidError(
            f"backup.encryption.recipients_file {path} cannot be read ({exc}).",
            suggestions=["Point recipients_file at a file of age1... lines, or use recipients"],
        ) from None
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def require_age() -> None:
    """Refuse before starting when the age tool is not installed."""
    if shutil.which("age") is None:
        raise ToolMissingError(
            "backup.encryption is set, but age is not installed.", suggestions=[AGE_HINT]
        )


def write_recipients(settings: EncryptionSettings, directory: Path) -> Path:
    """The recipients, one a line, in a file for `age -R` (keeps them out of argv)."""
    path = directory / "recipients.txt"
    path.write_text("".join(f"{r}\n" for r in settings.recipients), encoding="utf-8")
    return path


def encryption_record(settings: EncryptionSettings) -> dict:
    """The catalogue entry's `encryption` key."""
    return {"method": METHOD, "recipients": list(settings.recipients)}


def is_encrypted(entry: BackupEntry) -> bool:
    """True for a backup stored age-encrypted."""
    return (entry.extra.get("encryption") or {}).get("method") == METHOD


def identity_path(config: Config, required: bool = True) -> Path | None:
    """The identity file named by the configured variable, checked to exist and be
    private (no group or other permission bits). Unset variable: IdentityMissingError,
    or None when not `required`."""
    variable = identity_env(config)
    value = os.environ.get(variable, "")
    if not value:
        if not required:
            return None
        raise IdentityMissingError(
            f"This backup is age-encrypted; reading it needs the identity (private key) file, "
            f"named by the variable {variable}, which is not set. Nothing was touched.",
            suggestions=[f"export {variable}=/path/to/age-identity.txt (mode 0600), then retry"],
        )
    path = Path(value).expanduser()
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise IdentityMissingError(
            f"The identity file named by {variable} cannot be read ({exc.strerror}). "
            "Nothing was touched.",
            suggestions=[f"Set {variable} to the path of the age identity file"],
        ) from None
    if not stat.S_ISREG(mode):
        raise IdentityMissingError(
            f"The identity named by {variable} is not a regular file. Nothing was touched.",
            suggestions=[f"Set {variable} to the path of the age identity file"],
        )
    if mode & 0o077:
        raise IdentityMissingError(
            f"The identity file named by {variable} is readable by other users "
            f"(mode {stat.S_IMODE(mode):04o}); faber-db refuses to use a private key that "
            "is not private. Nothing was touched.",
            suggestions=[f'chmod 600 "${variable}", then retry'],
        )
    return path


def check_identity(path: Path, backup: Path, backup_id: str) -> None:
    """Prove that the identity opens `backup` (its header, and its first chunk, which
    age authenticates) before anything is changed; DecryptionFailedError if not. A
    backup that age refuses for its own damage passes here: its checks report it."""
    require_age()
    with partial_workspace(backup.parent) as work:
        output = run_handler(
            HandlerCall(
                METHOD,
                "check-identity",
                handler_paths_env(file=backup, age_identity=path, work_dir=work),
            )
        )
    if not output["opened"] and not output["damaged"]:
        raise DecryptionFailedError(
            f"The identity file does not open backup {backup_id}: "
            f"{output.get('detail') or 'age refused it'}. Nothing was touched.",
            suggestions=[
                "Use the identity whose public key is among the backup's recipients "
                f"(faber-db backups show {backup_id})"
            ],
        )


def identity_for(config: Config, entry: BackupEntry) -> Path | None:
    """The identity file to read `entry` with (checked as identity_path does); None for
    a backup that is not encrypted."""
    return identity_path(config) if is_encrypted(entry) else None
