"""The layout of the repository and the catalogue entries stored in it.

    <prefix>/<env>/<backup id><ext>     the backup (a directory archive as <id>.dir.tar)
    <prefix>/<env>/<backup id>.json     its catalogue entry, written once (IfNoneMatch)
    <prefix>/<env>/.claims/<backup id>  written once when the id is chosen (it names
                                        the machine and project, hashed), so two
                                        machines never pick the same id

Everything read back from the repository is distrusted like any input: ids,
environments and keys are checked before they reach a path.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from faber_db.backup_manager.catalogue import BackupEntry
from faber_db.backup_manager.ids import ID_RE
from faber_db.backup_manager.remote.client import error_code, remote_errors
from faber_db.backup_manager.remote.settings import RemoteSettings
from faber_db.config import ENV_NAME_RE
from faber_db.errors import RemoteFailedError

ARCHIVE_SUFFIX = ".tar"
ENTRY_SUFFIX = ".json"
CLAIMS = ".claims/"
SUFFIX_RE = re.compile(r"^(\.[a-z0-9]{1,10}){1,3}$")  # .dump.zst, .sql.gz, .dir
PRECONDITION_FAILED = {"PreconditionFailed", "412", "ConditionalRequestConflict"}


@dataclass
class RemoteRecord:
    """A catalogue entry found in the repository, and whether its backup object is there."""

    entry: BackupEntry
    object_present: bool


def env_prefix(settings: RemoteSettings, env: str) -> str:
    """The key prefix of one environment's backups."""
    return f"{settings.prefix}/{env}/" if settings.prefix else f"{env}/"


def object_key(settings: RemoteSettings, entry: BackupEntry) -> str:
    """Where an entry's backup goes: <prefix>/<env>/<id><ext> (.tar added for a directory)."""
    suffix = Path(entry.file).name.removeprefix(entry.id)
    if entry.format == "directory":
        suffix += ARCHIVE_SUFFIX
    return env_prefix(settings, entry.environment) + entry.id + suffix


def entry_key(settings: RemoteSettings, env: str, backup_id: str) -> str:
    """Where an entry's catalogue entry goes."""
    return env_prefix(settings, env) + backup_id + ENTRY_SUFFIX


def claim_id(client, settings: RemoteSettings, env: str, backup_id: str, token: str) -> bool:
    """Reserve `backup_id` for the project named by `token`: False when another has it."""
    key = env_prefix(settings, env) + CLAIMS + backup_id
    if _put_once(client, settings, key, token.encode()):
        return True
    with remote_errors(settings, f"reading {key}"):
        owner = client.get_object(Bucket=settings.bucket, Key=key)["Body"].read()
    return owner == token.encode()


def write_entry(client, settings: RemoteSettings, entry: dict) -> None:
    """Store the entry beside its backup, never overwriting another one (a second
    write of the same backup's entry, from an interrupted sync, is accepted)."""
    key = entry_key(settings, entry["environment"], entry["id"])
    body = json.dumps(entry, indent=2).encode("utf-8")
    if _put_once(client, settings, key, body):
        return
    existing = read_entry(client, settings, key)
    if existing is None or existing.get("sha256") != entry["sha256"]:
        raise RemoteFailedError(
            f"The repository already holds another entry at {key}; it was left as it is.",
            suggestions=["faber-db backups list  (another machine used this backup id)"],
        )


def _put_once(client, settings: RemoteSettings, key: str, body: bytes) -> bool:
    from botocore.exceptions import ClientError

    with remote_errors(settings, f"writing {key}"):
        try:
            client.put_object(Bucket=settings.bucket, Key=key, Body=body, IfNoneMatch="*")
        except ClientError as exc:
            if error_code(exc) in PRECONDITION_FAILED:
                return False
            raise
    return True


def read_entry(client, settings: RemoteSettings, key: str) -> dict | None:
    """A stored entry as JSON, or None when it is not a JSON object."""
    with remote_errors(settings, f"reading {key}"):
        body = client.get_object(Bucket=settings.bucket, Key=key)["Body"].read()
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def list_objects(client, settings: RemoteSettings, env: str | None) -> dict[str, int]:
    """Every key under the repository (or one environment's part of it) -> its size."""
    prefix = (
        env_prefix(settings, env) if env else (f"{settings.prefix}/" if settings.prefix else "")
    )
    sizes: dict[str, int] = {}
    with remote_errors(settings, f"listing {settings.location}"):
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=settings.bucket, Prefix=prefix
        )
        for page in pages:
            sizes |= {item["Key"]: item["Size"] for item in page.get("Contents", [])}
    return sizes


def remote_records(
    client, settings: RemoteSettings, env: str | None = None
) -> tuple[list[RemoteRecord], list[str]]:
    """The entries stored in the repository (of one environment, or all), and warnings
    for objects that are not acceptable entries."""
    sizes = list_objects(client, settings, env)
    records, warnings = [], []
    for key in sorted(k for k in sizes if k.endswith(ENTRY_SUFFIX) and CLAIMS not in k):
        entry = _checked_entry(settings, key, read_entry(client, settings, key))
        if entry is None:
            warnings.append(
                f"{settings.location}: {key} is not a faber-db catalogue entry; ignored"
            )
            continue
        remote = entry.extra.get("remote", {})
        present = sizes.get(remote.get("key")) == remote.get("size")
        records.append(RemoteRecord(entry, present))
    return records, warnings


def _checked_entry(settings: RemoteSettings, key: str, data: dict | None) -> BackupEntry | None:
    """The entry when its id, environment and object key are what its place says."""
    try:
        entry = BackupEntry.from_dict(data or {})
    except TypeError:
        return None
    remote = entry.extra.get("remote")
    if (
        not isinstance(entry.id, str)
        or not ID_RE.match(entry.id)
        or not isinstance(entry.environment, str)
        or not ENV_NAME_RE.match(entry.environment)
        or not isinstance(entry.file, str)
        or not SUFFIX_RE.match(Path(entry.file).name.removeprefix(entry.id))
        or key != entry_key(settings, entry.environment, entry.id)
        or not isinstance(remote, dict)
        or remote.get("key") != object_key(settings, entry)
    ):
        return None
    return entry


def delete_objects(client, settings: RemoteSettings, entry: BackupEntry) -> None:
    """Remove a backup's object, its entry and its claim from the repository."""
    keys = [
        object_key(settings, entry),
        entry_key(settings, entry.environment, entry.id),
        env_prefix(settings, entry.environment) + CLAIMS + entry.id,
    ]
    with remote_errors(settings, f"deleting {entry.id}"):
        for key in keys:
            client.delete_object(Bucket=settings.bucket, Key=key)


def abort_stale_uploads(client, settings: RemoteSettings, keys: set[str]) -> list[str]:
    """Abort the unfinished multipart uploads of these keys (left by an interrupted
    upload); the keys whose uploads were aborted."""
    aborted = []
    with remote_errors(settings, "listing unfinished uploads"):
        listing = client.list_multipart_uploads(Bucket=settings.bucket, Prefix=settings.prefix)
        for upload in listing.get("Uploads", []):
            if upload["Key"] in keys:
                client.abort_multipart_upload(
                    Bucket=settings.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                )
                aborted.append(upload["Key"])
    return aborted
