"""An environment whose SQLite URL names a file that is not a database (a text
file): every command that takes the environment answers with one JSON object
(an error where it must open the database), never a Python traceback, and the
file is left as it was."""

from __future__ import annotations

import pytest
from restore_support import backup_id, build_schema

TEXT = "CREATE TABLE users (id INTEGER PRIMARY KEY);\n"


@pytest.mark.parametrize("engine_name", ["sqlite"])
def test_every_environment_command_on_a_text_file_gives_a_json_error(project):
    build_schema(project.database)
    backup = backup_id(project)
    migration = project.root / "prisma" / "migrations" / "20240101000000_users" / "migration.sql"
    migration.parent.mkdir(parents=True)
    migration.write_text(TEXT)
    text_file = project.root / "users.sql"
    text_file.write_text(TEXT)
    not_a_db = {"FABER_TEST_DEV_URL": "sqlite:///users.sql"}
    must_fail = [
        ("status", "dev"),
        ("backup", "dev"),
        ("restore", "dev", "--from", backup, "--dry-run"),
        ("restore", "dev", "--from", backup, "--yes"),
        ("rollback", "dev", "--from", backup, "--dry-run"),
        ("rollback", "dev", "--from", backup, "--yes"),
        ("migrate", "dev", "--dry-run"),
        ("migrate", "dev", "--yes"),
        ("check", "dev"),
        ("db-create", "dev"),
    ]
    may_succeed = [("backups", "list", "dev"), ("backups", "verify", backup)]

    for args in must_fail + may_succeed:
        output = project.run(*args, "--json", env=not_a_db)
        assert "Traceback" not in output.stderr, (args, output.stderr)
        out = output.json  # exactly one JSON object, valid against the result schema
        if args in must_fail:
            assert out["status"] == "error" and output.returncode != 0, (args, out)
            assert out["error"]["code"] in ("connection_failed", "invalid_input"), (args, out)
            assert "users.sql" in out["message"], (args, out)
        else:
            assert output.returncode == 0, (args, out)
    assert text_file.read_text() == TEXT


@pytest.mark.parametrize("engine_name", ["sqlite"])
def test_into_a_non_database_file_is_refused_without_traceback(project):
    build_schema(project.database)
    backup = backup_id(project)
    for into in ["/etc/passwd", "README.md"]:
        (project.root / "README.md").write_text("# readme\n")
        output = project.run("restore", "dev", "--from", backup, "--into", into, "--dry-run")
        assert "Traceback" not in output.stderr, output.stderr
        assert output.returncode == 2 and "not a SQLite database" in output.stdout, output.stdout
    assert (project.root / "README.md").read_text() == "# readme\n"
