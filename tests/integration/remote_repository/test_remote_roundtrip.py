"""Round trips through a real S3 server (SeaweedFS) on every engine: back up (the copy
is uploaded and verified), delete the local copy, restore from the repository into a
fresh database, every row equal; also with age encryption on."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess

from restore_support import build_schema, snapshot
from s3_support import use_remote
from support import create_database, drop_database, skip_outside_ci


def test_backup_uploads_then_restores_from_the_repository(project, s3_server, s3_bucket, tmp_path):
    use_remote(project, s3_server, s3_bucket)
    database = project.database
    build_schema(database)
    at_backup = snapshot(database)

    code, out = project.run_json("backup", "dev")

    assert code == 0, out
    backup = out["result"]["backup_id"]
    remote = out["result"]["remote"]
    assert remote["status"] == "verified" and remote["sha256"] == out["result"]["sha256"]
    assert remote["key"].startswith(f"team/app/dev/{backup}.")
    listed = s3_server.client().list_objects_v2(Bucket=s3_bucket, Prefix="team/app/dev/")
    keys = {item["Key"] for item in listed["Contents"]}
    assert {remote["key"], f"team/app/dev/{backup}.json"} <= keys

    # Another machine: a fresh project dir sharing the repository, no local copy at all.
    shutil.rmtree(project.config_dir / "backups")
    fresh = create_database(database.engine, tmp_path / "fresh")
    try:
        project.env["FABER_TEST_DEV_URL"] = fresh.url
        code, out = project.run_json("backups", "list")
        assert code == 0, out
        (listed_entry,) = out["result"]["backups"]
        assert listed_entry["id"] == backup and listed_entry["location"] == "remote-only"

        code, out = project.run_json("restore", "dev", "--from", backup, "--yes")

        assert code == 0, out
        assert snapshot(fresh) == at_backup
    finally:
        drop_database(fresh)


def test_an_encrypted_backup_round_trips_through_the_repository(
    project, s3_server, s3_bucket, tmp_path
):
    """Encryption and the repository together: the object in the bucket is the age
    file (no plaintext), and a machine without the local copy restores it with the
    identity, every row equal; without the identity it is refused, target untouched."""
    if shutil.which("age-keygen") is None:
        skip_outside_ci("age is not installed (Debian: apt-get install age)")
    identity = tmp_path / "identity.key"
    subprocess.run(["age-keygen", "-o", str(identity)], check=True, capture_output=True)
    identity.chmod(0o600)
    recipient = subprocess.run(
        ["age-keygen", "-y", str(identity)], check=True, capture_output=True, text=True
    ).stdout.strip()
    config = json.loads((project.config_dir / "config.json").read_text())
    config.setdefault("backup", {})["encryption"] = {"recipients": [recipient]}
    project.write_config(config)
    use_remote(project, s3_server, s3_bucket)
    database = project.database
    build_schema(database)
    at_backup = snapshot(database)

    code, out = project.run_json("backup", "dev")

    assert code == 0, out
    backup, remote = out["result"]["backup_id"], out["result"]["remote"]
    assert remote["status"] == "verified" and remote["key"].endswith(".age")
    stored = s3_server.client().get_object(Bucket=s3_bucket, Key=remote["key"])["Body"].read()
    assert stored.startswith(b"age-encryption.org/v1")
    assert hashlib.sha256(stored).hexdigest() == out["result"]["sha256"]

    shutil.rmtree(project.config_dir / "backups")
    fresh = create_database(database.engine, tmp_path / "fresh")
    try:
        project.env["FABER_TEST_DEV_URL"] = fresh.url
        before = snapshot(fresh)
        code, out = project.run_json("restore", "dev", "--from", backup, "--yes")
        assert code == 26, out
        assert snapshot(fresh) == before

        project.env["FABER_DB_AGE_IDENTITY"] = str(identity)
        code, out = project.run_json("restore", "dev", "--from", backup, "--yes")

        assert code == 0, out
        assert snapshot(fresh) == at_backup
    finally:
        drop_database(fresh)
