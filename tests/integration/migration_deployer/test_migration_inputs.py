"""Migration files that check and migrate must refuse outright: a NUL byte (which
hid the statements after it from the checker) and a file over the size limit
(issue 10, section 7)."""

from __future__ import annotations

import pytest
from migration_support import applied_names, configure, table_names, write_migrations
from support import Project, basic_config

from faber_db.errors import MigrationStateError
from faber_db.exit_codes import ExitStatus
from faber_db.migration_deployer import prisma_layout as prisma

BIG = "CREATE TABLE big (id INTEGER);\nINSERT INTO big (id) VALUES (1);\n-- " + "x" * 2**20 + "\n"
NUL_SCRIPT = b"CREATE TABLE kept (id INTEGER);\nSELECT 'x\x00';\nDROP TABLE victims;\n"


def test_nul_byte_is_refused_with_its_line_and_column(tmp_path):
    migration = prisma.Migration("m", tmp_path / "migration.sql", NUL_SCRIPT)
    with pytest.raises(MigrationStateError) as raised:
        migration.text()
    assert "line 2, column 10" in raised.value.message and "NUL" in raised.value.message
    assert raised.value.details["line"] == 2


def test_script_over_the_limit_is_refused_and_the_limit_can_be_raised(tmp_path):
    script = b"SELECT 1;\n" * 20
    with pytest.raises(MigrationStateError, match="over the .* MiB limit"):
        prisma.Migration("m", tmp_path / "migration.sql", script, max_bytes=199).text()
    assert prisma.Migration("m", tmp_path / "migration.sql", script, max_bytes=200).text()


def test_default_limit_is_64_mib(tmp_path):
    (tmp_path / "20250101000000_a").mkdir()
    (tmp_path / "20250101000000_a" / "migration.sql").write_bytes(b"SELECT 1;")
    assert prisma.list_migrations(tmp_path)[0].max_bytes == 64 * 1024 * 1024


def applied(database) -> list[str]:
    """Applied migrations; none when faber-db never created the tracking table."""
    return applied_names(database) if "_prisma_migrations" in table_names(database) else []


@pytest.fixture
def dev(tmp_path, make_database) -> Project:
    database = make_database("sqlite")
    project = Project(tmp_path / "project", {"FABER_TEST_DEV_URL": database.url})
    project.root.mkdir()
    project.write_config(basic_config(dev="FABER_TEST_DEV_URL"))
    project.database = database
    configure(project, "sqlite")
    return project


def test_check_and_migrate_refuse_a_migration_with_a_nul_byte(dev):
    write_migrations(dev, {"20250101000000_nul": NUL_SCRIPT}, "sqlite")
    code, out = dev.run_json("check", "dev")
    assert code == ExitStatus.MIGRATION_STATE, out
    assert out["error"]["code"] == "migration_state"
    message = out["error"]["message"]
    assert "20250101000000_nul" in message and "line 2, column 10" in message
    code, out = dev.run_json("migrate", "dev", "--yes")
    assert code == ExitStatus.MIGRATION_STATE, out
    assert "NUL byte" in out["error"]["message"]
    assert "kept" not in table_names(dev.database) and applied(dev.database) == []


def test_check_and_migrate_refuse_a_migration_over_the_configured_limit(dev):
    configure(dev, "sqlite", migrations={"max_file_mb": 1})
    write_migrations(dev, {"20250101000000_big": BIG}, "sqlite")
    code, out = dev.run_json("check", "dev")
    assert code == ExitStatus.MIGRATION_STATE, out
    assert "over the 1 MiB limit" in out["error"]["message"]
    assert "migrations.max_file_mb" in " ".join(out["recovery"]["suggestions"])
    code, out = dev.run_json("migrate", "dev", "--yes")
    assert code == ExitStatus.MIGRATION_STATE, out
    assert "over the 1 MiB limit" in out["error"]["message"]
    assert "big" not in table_names(dev.database) and applied(dev.database) == []


def test_an_applied_migration_over_a_lowered_limit_does_not_block_new_ones(dev):
    write_migrations(dev, {"20250101000000_big": BIG}, "sqlite")
    code, out = dev.run_json("migrate", "dev", "--yes")
    assert code == 0, out["error"]
    configure(dev, "sqlite", migrations={"max_file_mb": 1})
    write_migrations(dev, {"20250102000000_next": "CREATE TABLE later (id INTEGER);\n"}, None)
    code, out = dev.run_json("migrate", "dev", "--yes")
    assert code == 0, out
    assert applied_names(dev.database) == ["20250101000000_big", "20250102000000_next"]
