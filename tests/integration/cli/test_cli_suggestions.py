"""Every error names the next command: recovery.suggestions is never empty."""

from __future__ import annotations

import sqlite3

import pytest
from support import Project, basic_config

FAILING = {
    "bad label": (["backup", "dev", "--label", "a/b"], "faber-db backup dev --label a-b"),
    "bad reason": (["backup", "dev", "--reason", "x;y"], "faber-db backup dev --reason manual"),
    "unsupported format": (
        ["backup", "dev", "--format", "directory"],
        "faber-db backup dev --format",
    ),
    "retention below a day": (["backup", "dev", "--retention", "0"], "faber-db backup dev"),
    "missing --from-file": (
        ["generate-migration", "add_x", "--from-file", "nowhere/x.sql"],
        "faber-db generate-migration add_x",
    ),
    "invalid environment name": (["backup", "Dev;x"], None),
    "unknown environment": (["status", "qa"], None),
    "unset variable": (["backup", "staging"], None),
    "invalid backup id": (["backups", "show", "../x"], None),
    "unknown backup": (["restore", "dev", "--from", "backup-20990101-000000"], None),
    "no backup to roll back to": (["rollback", "dev"], None),
    "invalid migration name": (["resolve", "dev", "--applied", "../x"], None),
    "auto-rollback without backup": (["migrate", "dev", "--auto-rollback", "--no-backup"], None),
    "missing config file": (["status", "dev", "--config", "nowhere/config.json"], "faber-db init"),
    "invalid --into": (["restore", "dev", "--from", "backup-20990101-000000", "--into", ""], None),
}


@pytest.fixture
def project(tmp_path):
    db = tmp_path / "dev.db"
    sqlite3.connect(db).execute("CREATE TABLE t (id INTEGER)").connection.close()
    project = Project(tmp_path / "p", {"FABER_TEST_DEV_URL": f"sqlite:///{db}"})
    project.root.mkdir()
    project.write_config(basic_config(dev="FABER_TEST_DEV_URL", staging="FABER_TEST_UNSET_URL"))
    return project


@pytest.mark.parametrize("case", sorted(FAILING))
def test_every_error_names_the_next_command(project, case):
    args, expected = FAILING[case]
    code, out = project.run_json(*args)
    assert code != 0 and out["status"] == "error", out
    suggestions = out["recovery"]["suggestions"]
    assert suggestions and all(s.strip() for s in suggestions), out
    if expected:
        assert any(s.startswith(expected) for s in suggestions), suggestions


def test_a_broken_config_names_the_line_to_fix(project):
    (project.config_dir / "config.json").write_text('{"environments": {,}')
    code, out = project.run_json("status", "dev")
    assert code == 3 and any("json.tool" in s for s in out["recovery"]["suggestions"])
