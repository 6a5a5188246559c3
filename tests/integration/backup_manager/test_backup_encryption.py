"""age-encrypted backups on every engine: no plaintext on disk, a round trip with the
identity, and refusals (exit 26, nothing changed) without it, with the wrong one, or
with one other users can read."""

from __future__ import annotations

import shutil
import signal
import subprocess
from pathlib import Path

import pytest
from restore_support import backup_id, build_schema, change_everything, snapshot
from support import basic_config, skip_outside_ci

MARKER = "plaintext-marker-7f3a9c"


@pytest.fixture
def keys(tmp_path) -> dict:
    """Two age identities (0600 files) and the public key of the first."""
    if shutil.which("age-keygen") is None or shutil.which("age") is None:
        skip_outside_ci("age is not installed (Debian: apt-get install age)")
    made = {}
    for name in ("right", "wrong"):
        path = tmp_path / f"{name}.key"
        subprocess.run(["age-keygen", "-o", str(path)], check=True, capture_output=True)
        path.chmod(0o600)
        made[name] = path
    public = subprocess.run(
        ["age-keygen", "-y", str(made["right"])], check=True, capture_output=True, text=True
    )
    made["recipient"] = public.stdout.strip()
    return made


def encrypt_project(project, recipient: str) -> None:
    """The project's config with backup.encryption to `recipient`."""
    config = basic_config(dev="FABER_TEST_DEV_URL")
    config["backup"] = {"encryption": {"recipients": [recipient]}}
    project.write_config(config)


def stored_file(project, backup: str) -> Path:
    """The backup's file, from the catalogue."""
    entry = next(e for e in project.catalogue()["backups"] if e["id"] == backup)
    return project.root / entry["file"]


def test_encrypted_round_trip_and_refusals(project, keys):
    database = project.database
    encrypt_project(project, keys["recipient"])
    build_schema(database)
    database.script([f"INSERT INTO notes (id, body) VALUES (3, '{MARKER}')"])
    at_backup = snapshot(database)
    backup = backup_id(project, "dev", "--compression", "none")

    entry = next(e for e in project.catalogue()["backups"] if e["id"] == backup)
    assert entry["encryption"] == {"method": "age", "recipients": [keys["recipient"]]}
    assert entry["verification"]["decompression"] == entry["verification"]["format"] == "passed"
    data = stored_file(project, backup).read_bytes()
    assert stored_file(project, backup).name.endswith(".age")
    assert data.startswith(b"age-encryption.org/v1\n")
    assert MARKER.encode() not in data and b"customers" not in data

    change_everything(database)
    changed, backups = snapshot(database), len(project.catalogue()["backups"])
    for env, code in (
        ({}, "identity_missing"),
        ({"FABER_DB_AGE_IDENTITY": str(keys["wrong"])}, "decryption_failed"),
        ({"FABER_DB_AGE_IDENTITY": str(keys["right"].parent / "nope.key")}, "identity_missing"),
    ):
        rc, out = project.run_json("restore", "dev", "--from", backup, "--yes", env=env)
        assert rc == 26 and out["error"]["code"] == code, out
    keys["right"].chmod(0o644)
    rc, out = project.run_json(
        "rollback", "dev", "--yes", env={"FABER_DB_AGE_IDENTITY": str(keys["right"])}
    )
    assert rc == 26 and out["error"]["code"] == "identity_missing", out
    assert "readable by other users" in out["message"]
    keys["right"].chmod(0o600)
    assert snapshot(database) == changed
    assert len(project.catalogue()["backups"]) == backups  # not even a safety backup

    identity = {"FABER_DB_AGE_IDENTITY": str(keys["right"])}
    rc, out = project.run_json("restore", "dev", "--from", backup, "--yes", env=identity)
    assert rc == 0, out
    assert snapshot(database) == at_backup


def test_verify_with_and_without_the_identity(project, keys):
    encrypt_project(project, keys["recipient"])
    build_schema(project.database)
    backup = backup_id(project)

    rc, out = project.run_json("backups", "verify", backup)
    assert rc == 0, out
    assert out["result"]["verification"]["decryption"] == "skipped"
    assert any("FABER_DB_AGE_IDENTITY is not set" in w for w in out["warnings"])
    rc, out = project.run_json("backups", "verify", backup, "--deep")
    assert rc == 26 and out["error"]["code"] == "identity_missing", out

    identity = {"FABER_DB_AGE_IDENTITY": str(keys["right"])}
    rc, out = project.run_json("backups", "verify", backup, "--deep", env=identity)
    assert rc == 0, out
    assert out["result"]["verification"]["decryption"] == "passed"
    assert out["result"]["verification"]["deep"]["passed"] is True
    rc, out = project.run_json(
        "backups", "verify", backup, env={"FABER_DB_AGE_IDENTITY": str(keys["wrong"])}
    )
    assert rc == 26 and out["error"]["code"] == "decryption_failed", out
    assert project.catalogue()["backups"][0]["status"] == "valid"

    # A changed byte of ciphertext: the sha256 catches it without the identity, and
    # age's authentication with it.
    path = stored_file(project, backup)
    data = bytearray(path.read_bytes())
    data[-20] ^= 0xFF
    path.write_bytes(bytes(data))
    rc, out = project.run_json("backups", "verify", backup, env=identity)
    assert rc == 13 and out["result"]["status"] == "invalid", out
    assert out["result"]["verification"]["decompression"] == "failed"


@pytest.mark.parametrize("engine_name", ["postgresql"])
def test_postgresql_sql_format_encrypted_and_directory_refused(project, keys):
    encrypt_project(project, keys["recipient"])
    build_schema(project.database)
    at_backup = snapshot(project.database)
    backup = backup_id(project, "dev", "--format", "sql")
    assert stored_file(project, backup).name.endswith(".sql.zst.age")

    rc, out = project.run_json("backup", "dev", "--format", "directory")
    assert rc == 2 and out["error"]["code"] == "unsupported_option", out

    change_everything(project.database)
    identity = {"FABER_DB_AGE_IDENTITY": str(keys["right"])}
    rc, out = project.run_json("restore", "dev", "--from", backup, "--yes", env=identity)
    assert rc == 0, out
    assert snapshot(project.database) == at_backup


def test_a_bad_recipient_is_a_config_error(project, keys):
    encrypt_project(project, "age1notakey")
    rc, out = project.run_json("backup", "dev")
    assert rc == 3 and out["error"]["code"] == "config_invalid", out
    assert project.catalogue()["backups"] == []


@pytest.mark.slow
@pytest.mark.parametrize("engine_name", ["postgresql", "mysql"])
def test_sigkill_mid_encrypted_dump_leaves_nothing(project, keys):
    from bulk_data import load_bulk
    from test_backup_failures import (
        BULK_ROWS,
        signal_mid_backup,
        start_backup,
        wait_until_clean,
    )

    encrypt_project(project, keys["recipient"])
    load_bulk(project.database, BULK_ROWS[project.database.engine])
    process = start_backup(project, "--compression", "none")
    signal_mid_backup(process, project, signal.SIGKILL)
    process.wait()
    assert wait_until_clean(project) == []
    assert project.catalogue()["backups"] == []
