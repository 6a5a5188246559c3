"""Faults against a real S3 server: wrong credentials, a missing bucket, the server
SIGKILLed in the middle of an upload (then `backups sync`), and a remote object
overwritten by hand (the restore refuses it before touching the target)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from bulk_data import load_random_blobs
from restore_support import build_schema, snapshot
from s3_support import SECRET_KEY, credentials_env, use_remote
from support import create_database, drop_database

pytestmark = pytest.mark.parametrize("engine_name", ["sqlite"])


def local_files(project) -> list[Path]:
    """The backup files of the dev environment."""
    return [p for p in (project.config_dir / "backups" / "dev").iterdir() if p.is_file()]


def test_wrong_credentials_leave_a_valid_local_backup(project, s3_server, s3_bucket):
    use_remote(project, s3_server, s3_bucket)
    project.env.update(credentials_env(secret="not-the-secret"))
    build_schema(project.database)

    code, out = project.run_json("backup", "dev")

    assert code == 24, out
    assert out["status"] == "error" and out["error"]["code"] == "remote_copy_missing"
    assert "refused the credentials" in out["message"]
    (entry,) = project.catalogue()["backups"]
    assert entry["status"] == "valid" and entry["remote"]["status"] == "missing"
    assert "SignatureDoesNotMatch" in entry["remote"]["error"]
    assert local_files(project)

    code, out = project.run_json("backups", "list")
    assert code == 0 and out["result"]["count"] == 1, out
    assert any("could not be listed" in w for w in out["warnings"])
    code, out = project.run_json("backups", "sync")
    assert code == 25 and out["error"]["code"] == "remote_failed", out
    assert "FABER_TEST_S3_KEY/FABER_TEST_S3_SECRET" in " ".join(out["recovery"]["suggestions"])

    project.env.update(credentials_env())
    code, out = project.run_json("backups", "sync")
    assert code == 0 and out["result"]["uploaded"] == [entry["id"]], out
    (entry,) = project.catalogue()["backups"]
    assert entry["remote"]["status"] == "verified"


def test_missing_bucket_is_named(project, s3_server):
    use_remote(project, s3_server, "faber-no-such-bucket")
    build_schema(project.database)

    code, out = project.run_json("backup", "dev")

    assert code == 24, out
    assert "faber-no-such-bucket does not exist" in out["message"]
    code, out = project.run_json("backups", "sync", "dev")
    assert code == 25 and "does not exist" in out["message"], out
    assert SECRET_KEY not in json.dumps(out)


def test_overwritten_remote_object_is_refused_before_the_target(
    project, s3_server, s3_bucket, tmp_path
):
    use_remote(project, s3_server, s3_bucket, keep_local=False)
    build_schema(project.database)
    code, out = project.run_json("backup", "dev")
    assert code == 0, out
    backup, key = out["result"]["backup_id"], out["result"]["remote"]["key"]
    assert local_files(project) == []  # keep_local: false
    s3_server.client().put_object(Bucket=s3_bucket, Key=key, Body=b"not the backup")
    target = create_database("sqlite", tmp_path / "target")
    try:
        target.script(["CREATE TABLE precious (id INT)", "INSERT INTO precious VALUES (7)"])
        before = snapshot(target)
        project.env["FABER_TEST_DEV_URL"] = target.url

        code, out = project.run_json("restore", "dev", "--from", backup, "--yes")

        assert code == 13, out
        assert "overwritten or damaged" in out["message"]
        assert snapshot(target) == before
        assert local_files(project) == []  # nothing unchecked left in place
    finally:
        drop_database(target)


def test_server_killed_mid_upload_then_sync(project, s3_server, s3_bucket):
    use_remote(project, s3_server, s3_bucket)
    load_random_blobs(project.database, 120)
    client = s3_server.client()
    process = subprocess.Popen(
        [sys.executable, "-m", "faber_db", "backup", "dev", "--compression", "none", "--json"],
        cwd=project.root,
        env={**os.environ, **project.env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads"):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.02)
        s3_server.kill()
        stdout, stderr = process.communicate(timeout=180)
    finally:
        if s3_server.process.poll() is not None:
            s3_server.start()
    out = json.loads(stdout)
    assert process.returncode == 24, out
    (entry,) = project.catalogue()["backups"]
    assert entry["status"] == "valid" and entry["remote"]["status"] == "missing"

    code, out = project.run_json("backups", "sync", "dev")

    assert code == 0, out
    assert out["result"]["uploaded"] == [entry["id"]]
    key = project.catalogue()["backups"][0]["remote"]["key"]
    head = s3_server.client().head_object(Bucket=s3_bucket, Key=key)
    assert head["ContentLength"] == entry["size_bytes"]
    unfinished = s3_server.client().list_multipart_uploads(Bucket=s3_bucket).get("Uploads", [])
    assert [u for u in unfinished if u["Key"] == key] == []
