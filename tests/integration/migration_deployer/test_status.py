"""`faber-db status`: what it reports and the exit code that tells
up to date from pending from problems."""

from __future__ import annotations

import shutil

import pytest
from migration_support import SIMPLE, configure, migrations_dir, write_migrations

from faber_db.exit_codes import ExitStatus


def test_status_reports_connection_and_pending(project):
    configure(project, project.database.engine)
    write_migrations(project, SIMPLE, project.database.engine)
    code, out = project.run_json("status", "dev")
    assert code == ExitStatus.MIGRATIONS_PENDING, out
    result = out["result"]
    assert result["engine"] == project.database.engine and result["server_version"]
    assert result["connection"] == project.database.conn.redacted()
    assert result["tracking_table"] == {"name": "_prisma_migrations", "present": False}
    assert result["pending"] == list(SIMPLE) and result["applied"] == []
    assert result["provider"]["matches"] is True and result["last_backup"] is None
    assert [m["state"] for m in result["migrations"]] == ["pending"] * 3
    assert "faber-db migrate dev --dry-run" in out["recovery"]["suggestions"]


@pytest.mark.parametrize("engine_name", ["sqlite"], indirect=True)
def test_status_exit_codes(project):
    configure(project, "sqlite")
    directory = write_migrations(project, SIMPLE, "sqlite")
    assert project.run_json("status", "dev")[0] == ExitStatus.MIGRATIONS_PENDING
    assert project.run_json("migrate", "dev")[0] == 0
    assert project.run_json("status", "dev")[0] == ExitStatus.SUCCESS

    shutil.rmtree(directory / "20240103000000_seed")
    code, out = project.run_json("status", "dev")
    assert code == ExitStatus.MIGRATION_STATE
    assert out["result"]["missing_from_directory"] == ["20240103000000_seed"]
    assert out["result"]["migrations"][-1]["state"] == "missing"


@pytest.mark.parametrize("engine_name", ["sqlite"], indirect=True)
def test_status_human_output_marks_each_migration(project):
    configure(project, "sqlite")
    write_migrations(project, SIMPLE, "sqlite")
    project.run_json("migrate", "dev")
    write_migrations(project, {"20240109000000_next": "SELECT 1;\n"}, None)
    output = project.run("status", "dev")
    assert output.returncode == ExitStatus.MIGRATIONS_PENDING
    assert "[x] 20240101000000_init" in output.stdout
    assert "[ ] 20240109000000_next" in output.stdout


@pytest.mark.parametrize("engine_name", ["sqlite"], indirect=True)
def test_status_without_migrations_directory_is_up_to_date(project):
    configure(project, "sqlite")
    assert not migrations_dir(project).exists()
    code, out = project.run_json("status", "dev")
    assert code == ExitStatus.SUCCESS and out["result"]["up_to_date"] is True
