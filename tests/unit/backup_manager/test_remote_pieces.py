"""The remote repository's pure parts: part sizes, the checksums a stored object may
carry, the key layout, distrust of entries read back, settings and error messages."""

from __future__ import annotations

import base64
import hashlib
import io

import pytest

from faber_db.backup_manager.catalogue import BackupEntry
from faber_db.backup_manager.remote.client import _client_failure
from faber_db.backup_manager.remote.repository import _checked_entry, entry_key, object_key
from faber_db.backup_manager.remote.settings import RemoteSettings
from faber_db.backup_manager.remote.transfer import (
    MAX_PARTS,
    PART_SIZE,
    HashingReader,
    composite_checksum,
    part_size_for,
    read_exactly,
)
from faber_db.errors import MissingEnvVarError

SETTINGS = RemoteSettings(bucket="bkt", prefix="team/app", endpoint_url="http://127.0.0.1:1")


def entry(**changes) -> BackupEntry:
    data = {
        "id": "backup-20260101-000000",
        "environment": "production",
        "engine": "postgresql",
        "database": "app",
        "timestamp": "2026-01-01T00:00:00Z",
        "label": None,
        "reason": "manual",
        "file": ".fractary/plugins/faber-db/backups/production/backup-20260101-000000.dump.zst",
        "size_bytes": 10,
        "compressed": True,
        "compression": "zstd",
        "format": "custom",
        "sha256": "0" * 64,
        "duration_seconds": 1.0,
        "tool_version": "16",
        "server_version": "15",
        "migrations": {"applied_count": 0, "last_migration": None, "migrations_list": []},
        "retention_days": 30,
        "expires_at": "2026-01-31T00:00:00Z",
        "status": "valid",
        "verification": {},
        "manifest": {},
    }
    return BackupEntry.from_dict({**data, **changes})


@pytest.mark.parametrize("size", [0, 5, PART_SIZE - 1, PART_SIZE, PART_SIZE * 3 + 7])
def test_parts_and_composite_checksum(size):
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    source = io.BufferedReader(io.BytesIO(data), buffer_size=1000)
    parts = []
    while part := read_exactly(source, PART_SIZE):
        parts.append(part)
    assert b"".join(parts) == data
    assert all(len(p) == PART_SIZE for p in parts[:-1])
    digests = [hashlib.sha256(p).digest() for p in parts]
    expected = base64.b64encode(hashlib.sha256(b"".join(digests)).digest()).decode()
    assert composite_checksum(digests) == f"{expected}-{len(parts)}"
    reader = HashingReader(io.BytesIO(data))
    while reader.read(1_000_003):
        pass
    assert reader.full.hexdigest() == hashlib.sha256(data).hexdigest() and reader.size == size


def test_part_size_keeps_under_the_part_limit():
    assert part_size_for(10) == PART_SIZE
    huge = 2 * 1024**4
    assert huge / part_size_for(huge) <= MAX_PARTS
    assert part_size_for(huge) % (1024 * 1024) == 0


def test_keys_follow_the_documented_layout():
    assert object_key(SETTINGS, entry()) == "team/app/production/backup-20260101-000000.dump.zst"
    directory = entry(format="directory", file="x/production/backup-20260101-000000.dir")
    assert object_key(SETTINGS, directory).endswith("backup-20260101-000000.dir.tar")
    assert entry_key(RemoteSettings(bucket="bkt"), "dev", "backup-20260101-000000") == (
        "dev/backup-20260101-000000.json"
    )


def test_entries_read_back_are_distrusted():
    good = entry().to_dict()
    good["remote"] = {"status": "verified", "key": object_key(SETTINGS, entry())}
    key = entry_key(SETTINGS, "production", good["id"])
    assert _checked_entry(SETTINGS, key, good) is not None
    assert _checked_entry(SETTINGS, key, None) is None
    assert _checked_entry(SETTINGS, key, {"id": "x"}) is None
    assert _checked_entry(SETTINGS, key, {**good, "id": "../../etc"}) is None
    assert _checked_entry(SETTINGS, "team/app/staging/other.json", good) is None
    odd = {**good, "file": "x/backup-20260101-000000.."}
    odd["remote"] = {"status": "verified", "key": "team/app/production/backup-20260101-000000.."}
    assert _checked_entry(SETTINGS, key, odd) is None
    moved = {**good, "remote": {"status": "verified", "key": "elsewhere/secret"}}
    assert _checked_entry(SETTINGS, key, moved) is None


def test_named_credential_variables_must_be_set(monkeypatch):
    settings = RemoteSettings(bucket="bkt", access_key_env="K_VAR", secret_key_env="S_VAR")
    monkeypatch.delenv("S_VAR", raising=False)
    monkeypatch.setenv("K_VAR", "key")
    with pytest.raises(MissingEnvVarError, match="S_VAR"):
        settings.credentials()
    monkeypatch.setenv("S_VAR", "secret")
    assert settings.credentials() == {"aws_access_key_id": "key", "aws_secret_access_key": "secret"}
    assert RemoteSettings(bucket="bkt").credentials() == {}


class FakeClientError(Exception):
    def __init__(self, code: str) -> None:
        self.response = {"Error": {"Code": code, "Message": "m"}}


def test_error_messages_say_what_to_check():
    auth = _client_failure(SETTINGS, "uploading", FakeClientError("SignatureDoesNotMatch"))
    assert "refused the credentials" in auth.message and auth.code == "remote_failed"
    bucket = _client_failure(SETTINGS, "uploading", FakeClientError("NoSuchBucket"))
    assert "bkt does not exist" in bucket.message
    other = _client_failure(SETTINGS, "uploading", FakeClientError("SlowDown"))
    assert "SlowDown" in other.message


def test_boto3_is_imported_only_when_a_remote_is_used():
    import subprocess
    import sys

    code = (
        "import sys, faber_db.cli, faber_db.backup_manager.manager, "
        "faber_db.rollback_manager.manager, faber_db.migration_deployer.deploy, "
        "faber_db.backup_manager.remote.sync; "
        "print(sorted(m for m in ('boto3', 'botocore', 's3transfer') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
