"""Approval at a terminal, tested through a real pseudo-terminal: the whole plan
(the text of a dry run) is printed before the person is asked anything, and
only the right answer goes ahead."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import sqlite3
import subprocess
import sys
import time

import pytest
from migration_support import SIMPLE, configure, write_migrations
from support import Project, basic_config

PROMPT = "to proceed, anything else cancels: "


class Terminal:
    """faber-db running with stdin, stdout and stderr on one pseudo-terminal."""

    def __init__(self, project: Project, *args: str) -> None:
        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "faber_db", *args],
            cwd=project.root,
            env={**os.environ, **project.env, "COLUMNS": "200"},
            stdin=slave,
            stdout=slave,
            stderr=slave,
            close_fds=True,
        )
        os.close(slave)
        self.output = ""

    def read_until(self, text: str, timeout: float = 60) -> str:
        """Everything printed until `text` appears (fails on timeout or exit)."""
        deadline = time.monotonic() + timeout
        while text not in self.output:
            assert time.monotonic() < deadline, f"no {text!r} in:\n{self.output}"
            ready, _, _ = select.select([self.master], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:  # the child closed the terminal
                    chunk = b""
                assert chunk or text in self.output, f"exited before {text!r}:\n{self.output}"
                self.output += chunk.decode("utf-8", "replace").replace("\r\n", "\n")
        return self.output

    def answer(self, text: str) -> None:
        """Type a line."""
        os.write(self.master, text.encode() + b"\n")

    def finish(self, timeout: float = 120) -> int:
        """Read to the end; return the exit status."""
        deadline = time.monotonic() + timeout
        while True:
            assert time.monotonic() < deadline, self.output
            ready, _, _ = select.select([self.master], [], [], 0.5)
            if not ready:
                if self.process.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                break
            if not chunk:
                break
            self.output += chunk.decode("utf-8", "replace").replace("\r\n", "\n")
        os.close(self.master)
        return self.process.wait(timeout)


@pytest.fixture
def project(tmp_path):
    """A SQLite project whose 'production' environment is protected."""
    db_path = tmp_path / "prod.db"
    project = Project(tmp_path / "p", {"FABER_TEST_PROD_URL": f"sqlite:///{db_path}"})
    project.root.mkdir()
    project.write_config(basic_config(dev="FABER_TEST_DEV_URL", production="FABER_TEST_PROD_URL"))
    configure(project, "sqlite", migrations={"directory": "prisma/migrations"})
    sqlite3.connect(db_path).close()
    project.db_path = db_path
    return project


def _migrated_with_backup(project: Project) -> str:
    """Apply the first two migrations (approved), and return the pre-migration backup id."""
    write_migrations(project, dict(list(SIMPLE.items())[:2]), "sqlite")
    code, plan = project.run_json("migrate", "production")
    code, out = project.run_json("migrate", "production", "--approve", plan["result"]["plan_id"])
    assert code == 0, out
    write_migrations(project, SIMPLE, "sqlite")
    return out["result"]["pre_migration_backup_id"]


def _dry_run_lines(project: Project, *args: str) -> list[str]:
    """The plan lines a dry run prints (without its first, message line and 'next:')."""
    output = project.run(*args, "--dry-run")
    assert output.returncode == 0, output.stderr
    lines = output.stdout.splitlines()[1:]
    return lines[: lines.index("next:")] if "next:" in lines else lines


def _ageless(text: str) -> str:
    """The backup's age ('2.7s old') moves on between two runs."""
    return re.sub(r"\(\S+ old", "(_ old", text)


def _count(project: Project, table: str = "account") -> int:
    return sqlite3.connect(project.db_path).execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_migrate_shows_the_whole_plan_before_asking(project):
    _migrated_with_backup(project)
    plan = _dry_run_lines(project, "migrate", "production")
    assert any("20240103000000_seed" in line for line in plan)

    wrong = Terminal(project, "migrate", "production")
    before = wrong.read_until(PROMPT)
    for line in plan:
        if "plan plan-" not in line:  # the same text as the dry run, before the question
            assert line in before, (line, before)
    assert before.index("20240103000000_seed") < before.index("type 'production'")
    wrong.answer("prod")
    assert wrong.finish() == 14
    assert wrong.output.count("20240103000000_seed: 2 statement") == 1  # not shown again
    assert _count(project) == 0

    right = Terminal(project, "migrate", "production")
    assert "20240103000000_seed" in right.read_until(PROMPT)
    right.answer("production")
    assert right.finish() == 0, right.output
    assert _count(project) == 2


def test_rollback_approval_shows_the_dry_run_table_first(project):
    backup_id = _migrated_with_backup(project)
    assert _count(project) == 0
    table = _dry_run_lines(project, "rollback", "production")
    assert any(backup_id in line for line in table) and not any("None" in x for x in table)

    session = Terminal(project, "rollback", "production", "--from", backup_id)
    before = session.read_until(PROMPT)
    assert "None" not in before, before
    assert backup_id in before and "20240102000000_add_email" in before
    assert before.index(backup_id) < before.index("type 'production'")
    for line in table:
        if not line.lstrip().startswith(("plan", "note")):
            assert _ageless(line) in _ageless(before), (line, before)
    session.answer("staging")
    assert session.finish() == 14
    assert "None" not in session.output
    assert sqlite3.connect(project.db_path).execute(
        "SELECT count(*) FROM _prisma_migrations"
    ).fetchone() == (2,)


def test_approval_text_of_rollback_without_a_terminal_has_the_real_values(project):
    backup_id = _migrated_with_backup(project)
    output = project.run("rollback", "production")
    assert output.returncode == 14
    assert "None" not in output.stdout, output.stdout
    assert backup_id in output.stdout and "20240102000000_add_email" in output.stdout


def test_backups_delete_approval_is_short_text_and_warns_about_the_last_backup(project):
    backup_id = _migrated_with_backup(project)
    output = project.run("backups", "delete", backup_id)
    assert output.returncode == 14
    assert "{" not in output.stdout and len(output.stdout.splitlines()) < 20, output.stdout
    assert backup_id in output.stdout and "only valid backup" in output.stdout

    code, out = project.run_json("backups", "delete", backup_id)
    assert out["result"]["plan"]["last_valid_backup"] is True
    assert any("only valid backup" in w for w in out["warnings"])

    session = Terminal(project, "backups", "delete", backup_id)
    before = session.read_until(PROMPT)
    assert "only valid backup" in before and backup_id in before
    assert before.index("only valid backup") < before.index("type 'production'")
    session.answer("production")
    assert session.finish() == 0, session.output
    assert project.catalogue()["backups"] == []


def test_backups_delete_yes_warns_when_it_removes_the_only_valid_backup(tmp_path):
    project = Project(tmp_path, {"FABER_TEST_DEV_URL": f"sqlite:///{tmp_path / 'dev.db'}"})
    project.write_config(basic_config(dev="FABER_TEST_DEV_URL"))
    sqlite3.connect(tmp_path / "dev.db").execute("CREATE TABLE t (id INTEGER)").connection.close()
    first = project.run_json("backup", "dev")[1]["result"]["backup_id"]
    second = project.run_json("backup", "dev", "--label", "two")[1]["result"]["backup_id"]
    code, out = project.run_json("backups", "delete", first, "--yes")
    assert code == 0 and out["warnings"] == []
    output = project.run("backups", "delete", second, "--yes")
    assert output.returncode == 0
    assert "only valid backup of dev" in output.stderr


def test_resolve_approval_is_short_text_shown_before_the_question(project):
    write_migrations(project, SIMPLE, "sqlite")
    output = project.run("resolve", "production", "--applied", "20240101000000_init")
    assert output.returncode == 14
    assert "{" not in output.stdout and len(output.stdout.splitlines()) < 12, output.stdout
    assert "20240101000000_init as applied" in output.stdout

    session = Terminal(project, "resolve", "production", "--applied", "20240101000000_init")
    before = session.read_until(PROMPT)
    assert before.index("20240101000000_init as applied") < before.index("type 'production'")
    session.answer("no")
    assert session.finish() == 14


def test_enhanced_approval_shows_the_plan_before_asking_for_object_names(project):
    write_migrations(project, {"20240101000000_init": SIMPLE["20240101000000_init"]}, "sqlite")
    code, plan = project.run_json("migrate", "production")
    project.run_json("migrate", "production", "--approve", plan["result"]["plan_id"])
    drop = {"20240105000000_drop": "DROP TABLE account;\n"}
    write_migrations(project, drop, "sqlite")
    session = Terminal(project, "migrate", "production")
    before = session.read_until(PROMPT)
    assert "20240105000000_drop" in before and "DROP TABLE account" in before
    session.answer("production")
    later = session.read_until("type 'account'")
    assert later.count("DROP TABLE account;") == before.count("DROP TABLE account;")
    session.answer("acount")
    assert session.finish() == 14
    assert _count(project) == 0  # still there


def test_unprotected_rollback_and_delete_show_the_plan_before_asking(tmp_path):
    db_path = tmp_path / "dev.db"
    project = Project(tmp_path / "p", {"FABER_TEST_DEV_URL": f"sqlite:///{db_path}"})
    project.root.mkdir()
    project.write_config(basic_config(dev="FABER_TEST_DEV_URL"))
    db = sqlite3.connect(db_path)
    db.execute("CREATE TABLE t (id INTEGER)")
    db.commit()
    backup_id = project.run_json("backup", "dev")[1]["result"]["backup_id"]
    db.execute("INSERT INTO t VALUES (1)")
    db.commit()
    db.close()

    table = _dry_run_lines(project, "rollback", "dev")
    session = Terminal(project, "rollback", "dev")
    before = session.read_until(PROMPT)
    assert backup_id in before and before.index(backup_id) < before.index("type 'dev'")
    for line in table:
        if not line.lstrip().startswith(("plan", "note")):
            assert _ageless(line) in _ageless(before), (line, before)
    session.answer("nope")
    assert session.finish() == 14
    assert sqlite3.connect(db_path).execute("SELECT count(*) FROM t").fetchone() == (1,)

    session = Terminal(project, "backups", "delete", backup_id)
    before = session.read_until(PROMPT)
    assert before.index("only valid backup") < before.index(f"type '{backup_id}'")
    session.answer(backup_id)
    assert session.finish() == 0, session.output
    assert "only valid backup of dev" in session.output.split(PROMPT)[1]
    assert project.catalogue()["backups"] == []


def test_prune_and_restore_on_a_protected_environment_show_the_plan_first(project):
    configure(project, "sqlite", backup={"min_keep": 1})
    db = sqlite3.connect(project.db_path)
    db.execute("CREATE TABLE t (id INTEGER)")
    db.commit()
    old = project.run_json("backup", "production", "--label", "old")[1]["result"]["backup_id"]
    db.execute("INSERT INTO t VALUES (1)")
    db.commit()
    db.close()
    new = project.run_json("backup", "production", "--label", "new")[1]["result"]["backup_id"]
    catalogue = project.catalogue()
    for entry in catalogue["backups"]:
        if entry["id"] == old:  # older than `new` even when both were taken in one second
            entry["timestamp"] = entry["expires_at"] = "2000-01-01T00:00:00Z"
    project.catalogue_path.write_text(json.dumps(catalogue, indent=2))

    session = Terminal(project, "backups", "prune", "production", "--yes")
    before = session.read_until(PROMPT)
    assert before.index(f"delete {old}") < before.index("type 'production'")
    assert f"keep   {new}" in before
    session.answer("production")
    assert session.finish() == 0, session.output
    assert [b["id"] for b in project.catalogue()["backups"]] == [new]

    sqlite3.connect(project.db_path).execute("DELETE FROM t").connection.commit()
    session = Terminal(project, "restore", "production", "--from", new)
    before = session.read_until(PROMPT)
    assert before.index(new) < before.index("type 'production'")
    session.answer("production")
    assert session.finish() == 0, session.output
    assert sqlite3.connect(project.db_path).execute("SELECT count(*) FROM t").fetchone() == (1,)


def test_no_lock_spinner_without_contention_and_none_left_on_the_prompt(project):
    backup = _migrated_with_backup(project)
    session = Terminal(project, "rollback", "production", "--from", backup)
    before = session.read_until(PROMPT)
    assert "waiting for the lock" not in before
    question_line = before.rsplit("\n", 2)[-2]
    assert "\r" not in question_line and "\033[K" not in question_line.replace("\r\033[K", "")
    session.answer("no")
    assert session.finish() != 0
