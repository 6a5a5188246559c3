"""Real Prisma migration histories (Umami, MIT): 14 migrations on PostgreSQL,
and the MySQL history whose 05_add_visit_id fails on MariaDB."""

from __future__ import annotations

import uuid

import pytest
from migration_support import configure, rows, sha256_file, use_umami

from faber_db.exit_codes import ExitStatus

UMAMI_NAMES = [
    "01_init",
    "02_report_schema_session_data",
    "03_metric_performance_index",
    "04_team_redesign",
    "05_add_visit_id",
    "06_session_data",
    "07_add_tag",
    "08_add_utm_clid",
    "09_update_hostname_region",
    "10_add_distinct_id",
    "11_add_segment",
    "12_update_report_parameter",
    "13_add_revenue",
    "14_add_setting",
]
PRISMA_PG_COLUMNS = {
    "id": ("character varying", 36, "NO"),
    "checksum": ("character varying", 64, "NO"),
    "finished_at": ("timestamp with time zone", None, "YES"),
    "migration_name": ("character varying", 255, "NO"),
    "logs": ("text", None, "YES"),
    "rolled_back_at": ("timestamp with time zone", None, "YES"),
    "started_at": ("timestamp with time zone", None, "NO"),
    "applied_steps_count": ("integer", None, "NO"),
}


@pytest.mark.parametrize("engine_name", ["postgresql"], indirect=True)
def test_umami_history_applies_on_postgresql(project):
    configure(project, "postgresql")
    directory = use_umami(project, "postgresql")
    code, out = project.run_json("migrate", "dev")
    assert code == 0, out
    assert out["result"]["migrations_applied"] == UMAMI_NAMES
    assert out["result"]["post_deploy"]["tracking_table"] == "consistent"

    tracked = rows(project.database)
    assert [r["migration_name"] for r in tracked] == UMAMI_NAMES
    for r in tracked:
        assert r["checksum"] == sha256_file(directory / r["migration_name"] / "migration.sql")
        assert r["finished_at"] is not None and r["rolled_back_at"] is None
        assert r["applied_steps_count"] == 1 and r["logs"] is None
        assert uuid.UUID(r["id"]).version == 4
        assert r["started_at"] <= r["finished_at"]

    code, status = project.run_json("status", "dev")
    assert code == ExitStatus.SUCCESS and status["result"]["up_to_date"], status
    assert status["result"]["applied"] == UMAMI_NAMES and status["result"]["pending"] == []

    code, again = project.run_json("migrate", "dev")
    assert code == 0 and again["result"]["migrations_applied"] == []
    assert len(rows(project.database)) == 14


@pytest.mark.parametrize("engine_name", ["postgresql"], indirect=True)
def test_postgres_tracking_table_has_prismas_columns(project):
    configure(project, "postgresql")
    use_umami(project, "postgresql")
    assert project.run_json("migrate", "dev")[0] == 0
    columns = project.database.execute(
        "SELECT column_name, data_type, character_maximum_length, is_nullable"
        " FROM information_schema.columns WHERE table_name = '_prisma_migrations'"
    )
    assert {c[0]: tuple(c[1:]) for c in columns} == PRISMA_PG_COLUMNS
    indexes = project.database.execute(
        "SELECT indexdef FROM pg_indexes WHERE tablename = '_prisma_migrations'"
    )
    assert len(indexes) == 1 and "(id)" in indexes[0][0]  # the primary key only


@pytest.mark.parametrize("engine_name", ["mysql"], indirect=True)
def test_umami_mysql_history_fails_at_bin_to_uuid_on_mariadb(project):
    configure(project, "mysql")
    use_umami(project, "mysql")
    code, out = project.run_json("migrate", "dev")
    assert code == ExitStatus.MIGRATION_FAILED, out
    result = out["result"]
    assert result["failed_migration"] == "05_add_visit_id"
    assert result["migrations_applied"] == UMAMI_NAMES[:4]
    statement = result["statement"]
    assert (statement["number"], statement["of"], statement["line"]) == (2, 5, 4)
    assert statement["sql"].startswith("UPDATE `website_event` we")
    assert statement["database_error"]["code"] == "1305"
    assert "BIN_TO_UUID" in statement["database_error"]["message"]
    assert [s["statement"] for s in result["left_applied"]["statements"]] == [1]
    assert "05_add_visit_id" in out["message"] and "line 4" in out["message"]
    assert any(
        "resolve dev --rolled-back 05_add_visit_id" in s for s in out["recovery"]["suggestions"]
    )

    failed = [r for r in rows(project.database) if r["migration_name"] == "05_add_visit_id"]
    assert len(failed) == 1 and failed[0]["finished_at"] is None
    assert failed[0]["rolled_back_at"] is None and failed[0]["applied_steps_count"] == 0
    assert "BIN_TO_UUID" in failed[0]["logs"] and "statement 2 of 5" in failed[0]["logs"]
    columns = project.database.execute("SHOW COLUMNS FROM website_event LIKE 'visit_id'")
    assert columns, "the ALTER TABLE before the failure committed (MySQL DDL)"

    code, refused = project.run_json("migrate", "dev")
    assert code == ExitStatus.MIGRATION_STATE and "05_add_visit_id" in refused["message"]
    assert "P3009" in refused["message"]
    code, status = project.run_json("status", "dev")
    assert code == ExitStatus.MIGRATION_STATE
    assert [f["name"] for f in status["result"]["failed"]] == ["05_add_visit_id"]

    code, resolved = project.run_json("resolve", "dev", "--rolled-back", "05_add_visit_id")
    assert code == 0 and resolved["result"]["failed_rows_rolled_back"] == 1, resolved
    code, status = project.run_json("status", "dev")
    assert code == ExitStatus.MIGRATIONS_PENDING, status
    assert status["result"]["pending"] == UMAMI_NAMES[4:]
    assert status["result"]["failed"] == []
