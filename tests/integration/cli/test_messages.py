"""Messages that fit the situation: every suggestion names a command that works in the
state that was left, and the text says what is true (not a placeholder)."""

from __future__ import annotations

import json
import sqlite3
import subprocess

import pytest
from support import SERVER_URLS, Project, basic_config, require_server

from faber_db.exit_codes import ExitStatus


@pytest.fixture
def sqlite_project(tmp_path):
    """dev and production on SQLite files; dev holds one table with one row."""
    dev, prod = tmp_path / "app.db", tmp_path / "prod.db"
    project = Project(
        tmp_path / "p",
        {"FABER_TEST_DEV_URL": f"sqlite:///{dev}", "FABER_TEST_PROD_URL": f"sqlite:///{prod}"},
    )
    project.root.mkdir()
    project.write_config(basic_config(dev="FABER_TEST_DEV_URL", production="FABER_TEST_PROD_URL"))
    db = sqlite3.connect(dev)
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    db.execute("INSERT INTO t (v) VALUES ('x')")
    db.commit()
    db.close()
    project.dev_path = dev
    return project


def test_init_suggests_creating_the_database_first_and_each_suggestion_works(tmp_path):
    project = Project(tmp_path / "fresh", {})
    project.root.mkdir()
    code, out = project.run_json("init")
    assert code == 0, out
    suggestions = out["recovery"]["suggestions"]
    assert suggestions[0].startswith("faber-db db-create dev")
    for suggestion in suggestions:
        command = suggestion.split("  ")[0].split()[1:]
        code, ran = project.run_json(*command)
        assert code in (0, ExitStatus.MIGRATIONS_PENDING), (suggestion, ran)


def test_missing_database_suggestion_names_the_environment(tmp_path):
    project = Project(tmp_path / "p", {"FABER_TEST_DEV_URL": f"sqlite:///{tmp_path / 'none.db'}"})
    project.root.mkdir()
    project.write_config(basic_config(dev="FABER_TEST_DEV_URL"))
    code, out = project.run_json("status", "dev")
    assert code == ExitStatus.CONNECTION_FAILED, out
    assert "faber-db db-create dev" in out["recovery"]["suggestions"]
    assert not any("<env>" in s for s in out["recovery"]["suggestions"])


def test_a_close_environment_name_is_suggested_without_inviting_a_config_edit(sqlite_project):
    code, out = sqlite_project.run_json("status", "prod")
    assert code == ExitStatus.UNKNOWN_ENVIRONMENT
    assert "did you mean 'production'?" in out["message"]
    assert not any("config" in s.lower() for s in out["recovery"]["suggestions"])
    code, out = sqlite_project.run_json("status", "qa")
    assert code == ExitStatus.UNKNOWN_ENVIRONMENT
    assert "did you mean" not in out["message"]
    assert out["recovery"]["suggestions"] == [
        "Use one of the configured environments: dev, production"
    ]


@pytest.mark.postgresql
def test_postgres_unknown_role_is_an_authentication_failure(tmp_path):
    require_server("postgresql")
    url = SERVER_URLS["postgresql"].replace("://postgres@", "://faber_no_such_role@", 1)
    project = Project(tmp_path / "p", {"FABER_TEST_DEV_URL": url})
    project.root.mkdir()
    project.write_config(basic_config(dev="FABER_TEST_DEV_URL"))
    code, out = project.run_json("status", "dev")
    assert code == ExitStatus.AUTH_FAILED, out
    assert out["error"]["code"] == "auth_failed"


def test_rollback_without_a_backup_of_this_database_says_which_database_they_are_of(
    sqlite_project, tmp_path
):
    assert sqlite_project.run_json("backup", "dev")[0] == 0
    moved = tmp_path / "moved.db"
    moved.write_bytes(sqlite_project.dev_path.read_bytes())
    code, out = sqlite_project.run_json(
        "rollback", "dev", "--dry-run", env={"FABER_TEST_DEV_URL": f"sqlite:///{moved}"}
    )
    assert code == ExitStatus.BACKUP_NOT_FOUND, out
    assert str(moved) in out["message"]
    assert f"are of sqlite database '{sqlite_project.dev_path}'" in out["message"]


def test_rollback_dry_run_says_same_row_count_not_unchanged(sqlite_project):
    assert sqlite_project.run_json("backup", "dev")[0] == 0
    db = sqlite3.connect(sqlite_project.dev_path)
    db.execute("UPDATE t SET v = 'changed'")
    db.commit()
    db.close()
    code, out = sqlite_project.run_json("rollback", "dev", "--dry-run")
    assert code == 0, out
    (table,) = out["result"]["tables"]
    assert table["change"] == "same row count"
    text = sqlite_project.run("rollback", "dev", "--dry-run").stdout
    assert "unchanged" not in text


def empty_dev(project) -> None:
    """Make dev an empty database, ready for a first migration."""
    project.dev_path.unlink()
    sqlite3.connect(project.dev_path).close()


def test_dry_run_heading_is_spelled_one_way(sqlite_project):
    empty_dev(sqlite_project)
    migration = sqlite_project.root / "prisma" / "migrations" / "20240101000000_add"
    migration.mkdir(parents=True)
    (migration / "migration.sql").write_text("CREATE TABLE added (id INTEGER);\n")
    first_line = sqlite_project.run("migrate", "dev", "--dry-run").stdout.splitlines()[0]
    assert first_line.startswith("DRY RUN: 1 migration(s)"), first_line


def test_sqlite_backups_are_not_called_custom(sqlite_project):
    code, out = sqlite_project.run_json("backup", "dev")
    assert code == 0
    text = sqlite_project.run("backups", "show", out["result"]["backup_id"]).stdout
    assert "format:" in text and "custom" not in text and "database file" in text


def test_migrate_reports_the_whole_time_including_the_backup(sqlite_project):
    config = basic_config(dev="FABER_TEST_DEV_URL")
    config["environments"]["dev"]["backup_before_migrate"] = True
    sqlite_project.write_config(config)
    empty_dev(sqlite_project)
    migrations = sqlite_project.root / "prisma" / "migrations" / "20240101000000_add"
    migrations.mkdir(parents=True)
    (migrations / "migration.sql").write_text("CREATE TABLE added (id INTEGER);\n")
    code, out = sqlite_project.run_json("migrate", "dev")
    assert code == 0, out
    assert "of it the backup" in out["message"]
    plan_text = json.dumps(out["result"]["plan"])
    assert "(enforcement" not in plan_text


def test_init_ignores_what_must_not_be_committed(tmp_path):
    project = Project(tmp_path / "fresh", {})
    project.root.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=project.root, check=True)
    assert project.run_json("init")[0] == 0
    assert project.run_json("db-create", "dev")[0] == 0
    assert project.run_json("backup", "dev")[0] == 0
    assert (project.config_dir / "audit.jsonl.lock").exists()
    listed = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=project.root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "audit.jsonl.lock" not in listed and "backups/" not in listed, listed
    assert "audit.jsonl" in listed  # the trail itself is meant to be committed


def test_rollback_dry_run_names_tables_whose_schema_changed(project):
    database = project.database
    database.execute("CREATE TABLE kept (id INTEGER PRIMARY KEY, v VARCHAR(20))")
    database.execute("CREATE TABLE altered (id INTEGER PRIMARY KEY, v VARCHAR(20))")
    database.execute("INSERT INTO kept (id, v) VALUES (1, 'a')")
    database.execute("INSERT INTO altered (id, v) VALUES (1, 'a')")
    assert project.run_json("backup", "dev")[0] == 0
    database.execute("ALTER TABLE altered ADD COLUMN extra INTEGER")
    database.execute("UPDATE kept SET v = 'b'")
    code, out = project.run_json("rollback", "dev", "--dry-run")
    assert code == 0, out
    tables = {t["table"].split(".")[-1]: t for t in out["result"]["tables"]}
    assert tables["kept"]["schema"] == "same"
    assert tables["kept"]["change"] == "same row count"
    assert tables["altered"]["schema"] == "differs"
    assert tables["altered"]["change"].startswith("same row count; schema differs")


def test_backups_list_of_an_environment_reports_missing_and_stray_files(sqlite_project):
    kept = sqlite_project.run_json("backup", "dev")[1]["result"]
    gone = sqlite_project.run_json("backup", "dev", "--label", "gone")[1]["result"]
    (sqlite_project.root / gone["file_path"]).unlink()
    stray = sqlite_project.config_dir / "backups" / "dev" / "stray.sqlite3.zst"
    stray.write_bytes(b"not a backup")
    code, out = sqlite_project.run_json("backups", "list", "dev")
    assert code == 0, out
    status = {b["backup_id"]: (b["status"], b["file_present"]) for b in out["result"]["backups"]}
    assert status == {kept["backup_id"]: ("valid", True), gone["backup_id"]: ("missing", False)}
    assert "1 of them missing their file" in out["message"]
    assert any(gone["backup_id"] in w and "missing" in w for w in out["warnings"])
    assert any("stray.sqlite3.zst" in w for w in out["warnings"])
    assert out["recovery"]["suggestions"][0].startswith(
        f"faber-db backups verify {gone['backup_id']}"
    )


def test_audit_after_a_broken_line_says_how_many_lines_it_hides(sqlite_project):
    for _ in range(6):
        assert sqlite_project.run_json("backup", "dev")[0] == 0
    trail = sqlite_project.config_dir / "audit.jsonl"
    lines = trail.read_text().splitlines(keepends=True)
    lines[2] = lines[2].replace('"backup"', '"backup-edited"', 1)
    trail.write_text("".join(lines))
    code, out = sqlite_project.run_json("audit", "--limit", "1")
    assert code == 0, out
    assert out["result"]["chain_ok"] is False
    assert out["result"]["hidden_after_break"] == len(lines) - 2
    assert f"{len(lines) - 2} line(s) from the break on are not shown" in out["message"]
    assert out["recovery"]["suggestions"] == ["faber-db audit --verify"]
    text = sqlite_project.run("audit", "--limit", "1").stdout
    assert text.startswith("WARNING: Audit trail BROKEN at line 3"), text


def test_init_is_audited(tmp_path):
    project = Project(tmp_path / "fresh", {})
    project.root.mkdir()
    assert project.run_json("init")[0] == 0
    code, out = project.run_json("audit")
    assert code == 0 and [e["operation"] for e in out["result"]["entries"]] == ["init"]
    assert project.run_json("audit", "--verify")[0] == 0
