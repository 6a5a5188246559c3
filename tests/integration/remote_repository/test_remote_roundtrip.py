"""Round trips through a real S3 server (SeaweedFS) on every engine: back up (the copy
is uploaded and verified), delete the local copy, restore from the repository into a
fresh database, every row equal."""

from __future__ import annotations

import shutil

from restore_support import build_schema, snapshot
from s3_support import use_remote
from support import create_database, drop_database


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
