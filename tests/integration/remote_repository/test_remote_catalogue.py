"""One catalogue for the team: backups from two project directories sharing one
repository, taken concurrently, all visible from a third; `backups show` says where
each copy is; prune removes remote copies; a required environment's migrate refuses
a backup without a verified remote copy; deep verification of a remote-only backup;
a PostgreSQL directory backup through the repository."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from migration_support import configure, write_migrations
from restore_support import build_schema, snapshot
from s3_support import credentials_env, use_remote
from support import Project, basic_config, create_database, drop_database

SQLITE_ONLY = pytest.mark.parametrize("engine_name", ["sqlite"])


def sibling(project, name: str) -> Project:
    """Another project directory (another machine) with the same config and database."""
    root = project.root.parent / name
    root.mkdir()
    other = Project(root, dict(project.env))
    other.write_config(json.loads((project.config_dir / "config.json").read_text()))
    return other


def run_at_once(machines: list[Project], each: int, *args: str) -> list[tuple[str, str]]:
    """`faber-db <args> --json` started `each` times in every machine's directory at
    once; their (stdout, stderr), after asserting that every one exited 0."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "faber_db", *args, "--json"],
            cwd=machine.root,
            env={**os.environ, **machine.env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for machine in machines
        for _ in range(each)
    ]
    outputs = [process.communicate(timeout=240) for process in processes]
    assert [p.returncode for p in processes] == [0] * len(processes), outputs
    return outputs


@SQLITE_ONLY
def test_concurrent_backups_from_two_projects_are_all_visible(project, s3_server, s3_bucket):
    use_remote(project, s3_server, s3_bucket)
    build_schema(project.database)
    machines = [project, sibling(project, "second")]
    outputs = run_at_once(machines, 5, "backup", "dev")
    made = {json.loads(stdout)["result"]["backup_id"] for stdout, _ in outputs}
    assert len(made) == 10

    third = sibling(project, "third")
    code, out = third.run_json("backups", "list", "dev")

    assert code == 0, out
    listed = out["result"]["backups"]
    assert {b["backup_id"] for b in listed} == made
    assert {b["location"] for b in listed} == {"remote-only"}
    code, out = project.run_json("backups", "list", "dev")
    assert (
        sorted(b["location"] for b in out["result"]["backups"])
        == ["local+remote"] * 5 + ["remote-only"] * 5
    )


@SQLITE_ONLY
def test_show_says_where_each_copy_is_and_prune_deletes_remote_copies(
    project, s3_server, s3_bucket
):
    use_remote(project, s3_server, s3_bucket)
    configure(project, "sqlite", backup={"min_keep": 1})
    build_schema(project.database)
    first = project.run_json("backup", "dev")[1]["result"]
    project.run_json("backup", "dev")

    code, out = project.run_json("backups", "show", first["backup_id"])

    assert code == 0, out
    copies = {c["where"]: c for c in out["result"]["copies"]}
    assert copies["local"]["present"] and copies["remote"]["present"]
    assert copies["remote"]["key"] == first["remote"]["key"]
    assert copies["remote"]["state"].startswith("verified ")
    code, out = sibling(project, "other").run_json("backups", "show", first["backup_id"])
    assert code == 0 and out["result"]["location"] == "remote-only", out
    assert [c["where"] for c in out["result"]["copies"]] == ["remote"]

    catalogue = json.loads(project.catalogue_path.read_text())
    for entry in catalogue["backups"]:
        if entry["id"] == first["backup_id"]:
            entry["expires_at"] = "2020-01-01T00:00:00Z"
    project.catalogue_path.write_text(json.dumps(catalogue))
    code, out = project.run_json("backups", "prune", "dev", "--yes")
    assert code == 0 and out["result"]["deleted"] == [first["backup_id"]], out
    keys = {
        item["Key"]
        for item in s3_server.client()
        .list_objects_v2(Bucket=s3_bucket, Prefix="team/app/dev/")
        .get("Contents", [])
    }
    assert not any(first["backup_id"] in key for key in keys)
    assert len([k for k in keys if k.endswith(".json")]) == 1


@SQLITE_ONLY
def test_required_environment_refuses_to_migrate_without_a_remote_copy(
    project, s3_server, s3_bucket
):
    use_remote(project, s3_server, s3_bucket, required=["dev"])
    project.env.update(credentials_env(secret="wrong"))
    config = configure(project, "sqlite")
    config["environments"]["dev"]["backup_before_migrate"] = True
    project.write_config(config)
    write_migrations(
        project, {"20240101000000_init": "CREATE TABLE things (id INTEGER PRIMARY KEY);"}, "sqlite"
    )

    code, out = project.run_json("migrate", "dev", "--yes")

    assert code == 24 and out["error"]["code"] == "remote_copy_missing", out
    assert "no migration was applied" in out["message"]
    assert "things" not in snapshot(project.database)
    (entry,) = project.catalogue()["backups"]
    assert entry["reason"] == "pre-migration" and entry["remote"]["status"] == "missing"

    project.env.update(credentials_env())
    code, out = project.run_json("migrate", "dev", "--yes")
    assert code == 0, out
    assert "things" in snapshot(project.database)


@SQLITE_ONLY
def test_deep_verify_downloads_a_remote_only_backup(project, s3_server, s3_bucket):
    use_remote(project, s3_server, s3_bucket, keep_local=False)
    build_schema(project.database)
    backup = project.run_json("backup", "dev")[1]["result"]["backup_id"]
    other = sibling(project, "laptop")
    code, out = other.run_json(
        "backups", "verify", backup, "--deep", env={"FABER_TEST_S3_SECRET": "wrong"}
    )
    assert code == 25 and "refused the credentials" in out["message"], out
    assert other.catalogue()["backups"] == []

    code, out = other.run_json("backups", "verify", backup, "--deep")

    assert code == 0, out
    assert out["result"]["verification"]["deep"]["passed"] is True
    (entry,) = other.catalogue()["backups"]
    assert entry["id"] == backup and entry["remote"]["status"] == "verified"
    assert "audit_head" not in entry  # the other machine's trail is not this one's
    code, out = other.run_json("audit", "--verify")
    assert code == 0, out


@pytest.mark.postgresql
def test_directory_backup_round_trip_as_one_archive(make_database, tmp_path, s3_server, s3_bucket):
    source = make_database("postgresql")
    build_schema(source)
    at_backup = snapshot(source)
    project = Project(tmp_path / "project", {"FABER_TEST_DEV_URL": source.url})
    project.root.mkdir()
    project.write_config(basic_config(dev="FABER_TEST_DEV_URL"))
    use_remote(project, s3_server, s3_bucket, keep_local=False)

    code, out = project.run_json("backup", "dev", "--format", "directory")

    assert code == 0, out
    backup, remote = out["result"]["backup_id"], out["result"]["remote"]
    assert remote["key"].endswith(".dir.tar") and remote["status"] == "verified"
    fresh = create_database("postgresql", tmp_path)
    try:
        project.env["FABER_TEST_DEV_URL"] = fresh.url
        code, out = project.run_json("restore", "dev", "--from", backup, "--yes")
        assert code == 0, out
        assert snapshot(fresh) == at_backup
    finally:
        drop_database(fresh)


@SQLITE_ONLY
def test_rollback_picks_a_backup_whose_only_copy_is_remote(project, s3_server, s3_bucket):
    use_remote(project, s3_server, s3_bucket, keep_local=False)
    build_schema(project.database)
    at_backup = snapshot(project.database)
    backup = project.run_json("backup", "dev")[1]["result"]["backup_id"]
    project.database.script(["INSERT INTO notes (id, body) VALUES (3, 'later')"])

    code, out = project.run_json("rollback", "dev", "--yes")

    assert code == 0, out
    assert out["result"]["backup_id"] == backup
    assert snapshot(project.database) == at_backup


@SQLITE_ONLY
def test_two_machines_racing_for_one_due_backup_take_one(project, s3_server, s3_bucket):
    """backup --if-due from two project directories that share only the repository:
    the due slot's conditional write lets one of them back up; a third sees it."""
    use_remote(project, s3_server, s3_bucket)
    config = json.loads((project.config_dir / "config.json").read_text())
    config["backup"]["schedule"] = {"dev": "daily"}
    project.write_config(config)
    build_schema(project.database)
    machines = [project, sibling(project, "second")]
    outputs = run_at_once(machines, 2, "backup", "dev", "--if-due")
    results = [json.loads(stdout)["result"] for stdout, _ in outputs]
    assert sum(1 for r in results if r.get("due")) == 1, results

    code, out = sibling(project, "third").run_json("backups", "list", "dev")
    assert code == 0, out
    assert len(out["result"]["backups"]) == 1
    code, out = machines[1].run_json("backup", "dev", "--if-due")
    assert code == 0 and out["result"]["due"] is False, out
