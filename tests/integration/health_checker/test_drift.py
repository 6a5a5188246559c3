"""`faber-db drift` on real servers: no false differences after a faber-db migrate,
each hand change found and named exactly, the drift state file, drift.ignore."""

from __future__ import annotations

import json

import pytest
from drift_support import (
    MIGRATIONS,
    difference_keys,
    expected_differences,
    hand_change_statements,
)
from migration_support import configure, write_migrations

from faber_db.exit_codes import ExitStatus


def migrated(project, engine_name: str):
    """The project migrated with the rich history of its engine."""
    configure(project, engine_name)
    write_migrations(project, MIGRATIONS[engine_name], engine_name)
    code, out = project.run_json("migrate", "dev")
    assert code == 0, out
    return project


def test_no_drift_after_migrate_then_each_hand_change_is_named(project, engine_name):
    migrated(project, engine_name)
    code, out = project.run_json("drift", "dev")
    assert code == ExitStatus.SUCCESS, out
    result = out["result"]
    assert result["drift"] is False and result["differences"] == [], result["differences"]
    assert result["replayed"] == sorted(MIGRATIONS[engine_name])
    assert result["checksum_changed"] == [] and result["orphan_rows"] == []

    project.database.script(hand_change_statements(engine_name))
    code, out = project.run_json("drift", "dev")
    assert code == ExitStatus.DRIFT_FOUND, out
    assert out["status"] == "success" and out["result"]["drift"] is True
    assert difference_keys(out["result"]) == expected_differences(engine_name)

    state_file = project.config_dir / "state" / "drift" / "dev.json"
    state = json.loads(state_file.read_text())
    assert set(state) == {
        "environment",
        "checked_at",
        "drift",
        "differences",
        "checksum_changed",
        "orphan_rows",
    }
    assert state["drift"] is True and state["differences"] == out["result"]["differences"]

    human = project.run("drift", "dev")
    assert human.returncode == ExitStatus.DRIFT_FOUND
    assert human.stdout.startswith("DRIFT: ")
    for object_type, name, _attribute, kind in expected_differences(engine_name):
        line = f"{kind.upper():<8} {object_type} {name}"
        assert any(line in text for text in human.stdout.splitlines()), (line, human.stdout)


@pytest.mark.parametrize("engine_name", ["postgresql"], indirect=True)
def test_changed_values_edited_file_orphan_row_and_ignore(project):
    migrated(project, "postgresql")
    project.database.script(
        [
            "ALTER TABLE account ALTER COLUMN name SET DEFAULT 'someone'",
            "CREATE TABLE hand_audit (id INT PRIMARY KEY)",
            "CREATE INDEX hand_audit_idx ON hand_audit (id)",
            "INSERT INTO _prisma_migrations (id, checksum, migration_name, finished_at,"
            " applied_steps_count) VALUES ('x', 'abc', '20231231000000_gone', now(), 1)",
        ]
    )
    first = sorted(MIGRATIONS["postgresql"])[0]
    sql = project.root / "prisma" / "migrations" / first / "migration.sql"
    sql.write_text(sql.read_text() + "\n-- edited\n")
    code, out = project.run_json("drift", "dev")
    assert code == ExitStatus.DRIFT_FOUND, out
    result = out["result"]
    assert result["checksum_changed"] == [first]
    assert result["orphan_rows"] == ["20231231000000_gone"]
    default = next(d for d in result["differences"] if d["attribute"] == "default")
    assert default["expected"] == "'anon'::character varying"
    assert default["actual"] == "'someone'::character varying"
    # the extra table is one difference, its index is not listed apart
    assert [d["object"] for d in result["differences"] if d["kind"] == "extra"] == [
        "public.hand_audit"
    ]

    configure(project, "postgresql", drift={"ignore": ["hand_*", "public.account"]})
    code, out = project.run_json("drift", "dev")
    assert code == ExitStatus.DRIFT_FOUND, out
    assert out["result"]["differences"] == []
    assert out["result"]["checksum_changed"] == [first]


@pytest.mark.parametrize("engine_name", ["mysql"], indirect=True)
def test_mysql_shadow_takes_the_live_schemas_default_collation(project):
    name = project.database.conn.database
    project.database.execute(
        f"ALTER DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
    )
    configure(project, "mysql")
    write_migrations(
        project, {"01_init": "CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(20));\n"}, "mysql"
    )
    assert project.run_json("migrate", "dev")[0] == 0
    code, out = project.run_json("drift", "dev")
    assert code == ExitStatus.SUCCESS, out["result"]["differences"]
