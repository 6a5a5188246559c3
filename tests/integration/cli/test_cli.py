"""The CLI the way users run it: bad inputs get clear errors and their own exit codes."""

from __future__ import annotations

import json

import pytest
from support import SERVER_URLS, Project, basic_config, require_server, server_url

from faber_db.exit_codes import ExitStatus
from faber_db.urls import parse_url


@pytest.fixture
def sqlite_project(tmp_path):
    project = Project(tmp_path / "p", {"FABER_TEST_DEV_URL": f"sqlite:///{tmp_path / 'app.db'}"})
    project.root.mkdir()
    project.write_config(basic_config(dev="FABER_TEST_DEV_URL", production="FABER_TEST_PROD_URL"))
    (tmp_path / "app.db").write_bytes(b"")
    import sqlite3

    db = sqlite3.connect(tmp_path / "app.db")
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    db.execute("INSERT INTO t (v) VALUES ('x')")
    db.commit()
    return project


@pytest.mark.parametrize("label", ["../../etc", "a/b", "x;rm -rf ~", "$(whoami)", "a..b"])
def test_bad_labels(sqlite_project, label):
    code, out = sqlite_project.run_json("backup", "dev", "--label", label)
    assert code == ExitStatus.USAGE and out["error"]["code"] == "invalid_input"
    assert sqlite_project.catalogue()["backups"] == []


def test_label_is_normalised(sqlite_project):
    code, out = sqlite_project.run_json("backup", "dev", "--label", "Before Big Change")
    assert code == 0 and out["result"]["backup_id"].endswith("-before-big-change")


@pytest.mark.parametrize(
    ("env", "code"),
    [
        ("qa", ExitStatus.UNKNOWN_ENVIRONMENT),
        ("../prod", ExitStatus.USAGE),
        ("Prod;x", ExitStatus.USAGE),
    ],
)
def test_bad_environment_names(sqlite_project, env, code):
    rc, out = sqlite_project.run_json("backup", env)
    assert rc == code, out


def test_missing_variable(sqlite_project):
    rc, out = sqlite_project.run_json("backup", "production")
    assert rc == ExitStatus.MISSING_ENV_VAR
    assert "FABER_TEST_PROD_URL" in out["message"] and out["recovery"]["suggestions"]


@pytest.mark.parametrize("url", ["oracle://x@h/db", "redis://h/0"])
def test_unsupported_scheme(sqlite_project, url):
    rc, out = sqlite_project.run_json("backup", "production", env={"FABER_TEST_PROD_URL": url})
    assert rc == ExitStatus.UNSUPPORTED_URL and out["error"]["code"] == "unsupported_url"


def test_unreachable_server(sqlite_project):
    rc, out = sqlite_project.run_json(
        "backup", "production", env={"FABER_TEST_PROD_URL": "postgresql://postgres@127.0.0.1:1/x"}
    )
    assert rc == ExitStatus.CONNECTION_FAILED


@pytest.mark.mysql
def test_bad_password(sqlite_project):
    require_server("mysql")
    base = parse_url(SERVER_URLS["mysql"])
    url = server_url(base, base.database, user="nobody", password="wrong")
    rc, out = sqlite_project.run_json("backup", "production", env={"FABER_TEST_PROD_URL": url})
    assert rc == ExitStatus.AUTH_FAILED, out


def test_no_config_and_broken_config(tmp_path, sqlite_project):
    lonely = Project(tmp_path / "lonely", {})
    lonely.root.mkdir()
    rc, out = lonely.run_json("backups", "list")
    assert rc == ExitStatus.CONFIG_ERROR and out["error"]["code"] == "config_not_found"
    (sqlite_project.config_dir / "config.json").write_text(
        '{"environments": {"dev": {"require_approval": "yes"}}}'
    )
    rc, out = sqlite_project.run_json("backups", "list")
    assert rc == ExitStatus.CONFIG_ERROR and "environments.dev.require_approval" in out["message"]


def test_hand_damaged_catalogue_is_refused_and_kept(sqlite_project):
    assert sqlite_project.run_json("backup", "dev")[0] == 0
    sqlite_project.catalogue_path.write_text(sqlite_project.catalogue_path.read_text()[:-40])
    damaged = sqlite_project.catalogue_path.read_text()
    for command in (["backup", "dev"], ["backups", "list"]):
        rc, out = sqlite_project.run_json(*command)
        assert rc == ExitStatus.CATALOGUE_CORRUPT and "will not overwrite" in out["message"]
    assert sqlite_project.catalogue_path.read_text() == damaged


def test_unknown_backup_and_delete_needs_confirmation(sqlite_project):
    rc, out = sqlite_project.run_json("backups", "show", "backup-20990101-000000")
    assert rc == ExitStatus.BACKUP_NOT_FOUND
    rc, out = sqlite_project.run_json("backup", "dev")
    backup_id = out["result"]["backup_id"]
    rc, out = sqlite_project.run_json("backups", "delete", backup_id)
    assert rc == ExitStatus.APPROVAL_REQUIRED and out["status"] == "approval_required"
    rc, out = sqlite_project.run_json("backups", "delete", backup_id, "--yes")
    assert rc == 0 and sqlite_project.catalogue()["backups"] == []
    assert list((sqlite_project.config_dir / "backups" / "dev").iterdir()) == []


def test_usage_errors_exit_2(sqlite_project):
    assert sqlite_project.run("backup").returncode == ExitStatus.USAGE
    assert sqlite_project.run("backup", "dev", "--format", "tarball").returncode == ExitStatus.USAGE
    assert sqlite_project.run("nonsense").returncode == ExitStatus.USAGE


def test_human_output_is_short_and_json_is_one_object(sqlite_project):
    human = sqlite_project.run("backup", "dev")
    assert human.returncode == 0 and human.stdout.startswith("OK: Backup backup-")
    machine = sqlite_project.run("backups", "list", "--json")
    assert json.loads(machine.stdout)["result"]["count"] == 1
