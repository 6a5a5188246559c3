"""`faber-db resolve`: Prisma's migrate resolve semantics (P3008, P3011, P3012,
P3017), baselining, and recovering from a failed migration."""

from __future__ import annotations

import pytest
from migration_support import SIMPLE, TABLE, configure, rows, table_names, write_migrations

from faber_db.exit_codes import ExitStatus

BROKEN = {
    **SIMPLE,
    "20240104000000_broken": "CREATE TABLE b (id INTEGER);\nINSERT INTO missing_t VALUES (1);\n",
}


@pytest.fixture
def failed_project(project):
    configure(project, project.database.engine)
    write_migrations(project, BROKEN, project.database.engine)
    assert project.run_json("migrate", "dev")[0] == ExitStatus.MIGRATION_FAILED
    return project


def test_rolled_back_makes_the_migration_pending_again(failed_project):
    project = failed_project
    code, out = project.run_json("resolve", "dev", "--rolled-back", "20240104000000_broken")
    assert code == 0, out
    (row,) = [r for r in rows(project.database) if r["migration_name"].endswith("broken")]
    assert row["rolled_back_at"] is not None and row["finished_at"] is None
    code, status = project.run_json("status", "dev")
    assert code == ExitStatus.MIGRATIONS_PENDING and status["result"]["pending"] == [
        "20240104000000_broken"
    ]
    code, again = project.run_json("resolve", "dev", "--rolled-back", "20240104000000_broken")
    assert code == ExitStatus.MIGRATION_STATE and "P3012" in again["message"]


def test_applied_marks_the_failed_row_rolled_back_and_records_success(failed_project):
    project = failed_project
    code, out = project.run_json("resolve", "dev", "--applied", "20240104000000_broken")
    assert code == 0 and out["result"]["failed_rows_rolled_back"] == 1, out
    mine = [r for r in rows(project.database) if r["migration_name"].endswith("broken")]
    assert len(mine) == 2
    rolled_back, applied = sorted(mine, key=lambda r: r["rolled_back_at"] is None)
    assert rolled_back["rolled_back_at"] is not None
    assert applied["finished_at"] is not None and applied["logs"] == ""
    assert applied["applied_steps_count"] == 0 and applied["rolled_back_at"] is None
    assert project.run_json("status", "dev")[0] == ExitStatus.SUCCESS
    code, out = project.run_json("migrate", "dev")
    assert code == 0 and out["result"]["migrations_applied"] == []


@pytest.mark.parametrize("engine_name", ["sqlite"], indirect=True)
def test_resolve_errors_match_prisma(project):
    configure(project, "sqlite")
    write_migrations(project, SIMPLE, "sqlite")
    assert project.run_json("migrate", "dev")[0] == 0
    first = "20240101000000_init"
    cases = [
        (("--rolled-back", "20990101000000_unknown"), "P3011"),
        (("--rolled-back", first), "P3012"),
        (("--applied", "20990101000000_unknown"), "P3017"),
        (("--applied", first), "P3008"),
    ]
    for args, prisma_code in cases:
        code, out = project.run_json("resolve", "dev", *args)
        assert code == ExitStatus.MIGRATION_STATE and prisma_code in out["message"], out
    assert len(rows(project.database)) == len(SIMPLE)


@pytest.mark.parametrize("engine_name", ["sqlite"], indirect=True)
def test_a_refused_resolve_is_refused_before_anyone_is_asked_to_approve_it(project):
    configure(project, "sqlite", safety={"protected_environments": ["dev"]})
    write_migrations(project, SIMPLE, "sqlite")
    first = "20240101000000_init"
    assert project.run_json("migrate", "dev", "--yes")[0] == ExitStatus.APPROVAL_REQUIRED
    code, out = project.run_json("migrate", "dev")
    assert project.run_json("migrate", "dev", "--approve", out["result"]["plan_id"])[0] == 0
    for args, prisma_code in ((("--applied", first), "P3008"), (("--rolled-back", first), "P3012")):
        code, out = project.run_json("resolve", "dev", *args)
        assert code == ExitStatus.MIGRATION_STATE and prisma_code in out["message"], out
    assert len(rows(project.database)) == len(SIMPLE)


@pytest.mark.parametrize("engine_name", ["sqlite"], indirect=True)
def test_resolve_needs_exactly_one_action(project):
    configure(project, "sqlite")
    assert project.run("resolve", "dev").returncode == ExitStatus.USAGE
    both = project.run("resolve", "dev", "--applied", "a", "--rolled-back", "a")
    assert both.returncode == ExitStatus.USAGE
    code, out = project.run_json("resolve", "dev", "--applied", "../../etc/passwd")
    assert code == ExitStatus.USAGE and out["error"]["code"] == "invalid_input"


@pytest.mark.parametrize("engine_name", ["sqlite", "postgresql"], indirect=True)
def test_baseline_an_existing_database(project):
    configure(project, project.database.engine)
    write_migrations(project, SIMPLE, project.database.engine)
    first_sql = SIMPLE["20240101000000_init"]
    project.database.script([first_sql.rstrip().rstrip(";")])
    code, refused = project.run_json("migrate", "dev")
    assert code == ExitStatus.MIGRATION_STATE and "P3005" in refused["message"]
    code, status = project.run_json("status", "dev")
    assert any("--applied 20240101000000_init" in w for w in status["warnings"]), status
    code, out = project.run_json("resolve", "dev", "--applied", "20240101000000_init")
    assert code == 0 and out["result"]["tracking_table_created"] is True, out
    assert TABLE in table_names(project.database)
    code, done = project.run_json("migrate", "dev")
    assert code == 0, done
    assert done["result"]["migrations_applied"] == list(SIMPLE)[1:]
