"""`restore --into` refuses, before connecting, every database it must never write:
names outside the identifier pattern, system databases, names longer than the
engine allows, SQLite paths that leave the project or are not databases.

Safety of these tests themselves: system databases are only checked through the
Engine classes (no server involved) or with --dry-run against databases whose
read-only inspection is harmless (`postgres`, `mysql`); template0/template1 are
never connected to, so a missing fix cannot damage the shared servers."""

from __future__ import annotations

from pathlib import Path

import pytest
from restore_support import backup_id, build_schema
from support import basic_config, unique_name

from faber_db.engines import engine_class
from faber_db.errors import InvalidInputError

SYSTEM = {
    "postgresql": ["postgres", "template0", "template1", "TEMPLATE1"],
    "mysql": ["mysql", "information_schema", "performance_schema", "sys", "MySQL"],
}
HOSTILE = ["bad;name", "a b", "x`y", 'q"uote', "-leading", "semi;DROP DATABASE x", "é"]


@pytest.mark.parametrize("engine", ["postgresql", "mysql"])
def test_engine_refuses_system_and_malformed_names(engine, tmp_path):
    for name in [*SYSTEM[engine], *HOSTILE]:
        with pytest.raises(InvalidInputError):
            engine_class(engine).restore_target(name, tmp_path)
    assert engine_class(engine).restore_target("faber_copy-2", tmp_path) == "faber_copy-2"


def test_name_length_limits_are_the_engines():
    postgres, mysql = engine_class("postgresql"), engine_class("mysql")
    assert postgres.restore_target("a" * 63, Path(".")) == "a" * 63
    with pytest.raises(InvalidInputError, match="63"):
        postgres.restore_target("a" * 64, Path("."))  # PostgreSQL would cut it silently
    assert postgres.identifier_length("é") == 2  # counted in bytes
    assert mysql.restore_target("a" * 64, Path(".")) == "a" * 64
    with pytest.raises(InvalidInputError, match="64"):
        mysql.restore_target("a" * 65, Path("."))


def test_sqlite_paths_stay_in_the_project_and_must_be_databases(tmp_path):
    sqlite = engine_class("sqlite")
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    (project / "notes.txt").write_text("not a database")
    (project / "escape").symlink_to(tmp_path, target_is_directory=True)
    for name in ["../elsewhere/evil.db", "data/../../evil.db", "escape/evil.db", "notes.txt"]:
        with pytest.raises(InvalidInputError):
            sqlite.restore_target(name, project)
    with pytest.raises(InvalidInputError):
        sqlite.restore_target("data", project)  # a directory
    assert sqlite.restore_target("data/copy.db", project) == str(
        (project / "data/copy.db").resolve()
    )
    absolute = tmp_path / "elsewhere.db"
    assert sqlite.restore_target(str(absolute), project) == str(absolute.resolve())


def _assert_refused(out: dict, code: int) -> None:
    assert code == 2, out
    assert out["status"] == "error" and out["error"]["code"] == "invalid_input", out
    assert "Nothing was created or changed" in out["message"], out
    assert any("faber-db restore dev --from" in s for s in out["recovery"]["suggestions"]), out


@pytest.mark.parametrize("engine_name", ["sqlite"])
def test_sqlite_into_outside_the_project_is_refused_and_nothing_written(project, tmp_path):
    build_schema(project.database)
    backup = backup_id(project)
    (project.root / "users.sql").write_text("CREATE TABLE users (id INT);\n")
    outside = tmp_path / "outside.txt"  # absolute paths are allowed, non-databases not
    outside.write_text("text")

    for into in ["../elsewhere/evil.db", "users.sql", str(outside)]:
        code, out = project.run_json("restore", "dev", "--from", backup, "--into", into, "--yes")
        _assert_refused(out, code)

    assert not (tmp_path / "elsewhere").exists()
    assert (project.root / "users.sql").read_text() == "CREATE TABLE users (id INT);\n"
    assert outside.read_text() == "text"


def _databases(database) -> set[str]:
    if database.engine == "postgresql":
        return {row[0] for row in database.execute("SELECT datname FROM pg_database")}
    return {
        row[0] for row in database.execute("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA")
    }


def _system_tables(database) -> list:
    if database.engine == "postgresql":
        return database.execute(
            "SELECT table_schema, table_name FROM information_schema.tables ORDER BY 1, 2"
        )
    return database.execute(
        "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'mysql' ORDER BY 1"
    )


@pytest.mark.parametrize("engine_name", ["postgresql", "mysql"])
def test_server_into_refusals_happen_before_connecting(project, engine_name):
    build_schema(project.database)
    backup = backup_id(project)
    system_db = project.database.conn.with_database(SYSTEM[engine_name][0])
    from support import Database

    system = Database(
        engine_name, project.database.url.rsplit("/", 1)[0] + "/" + system_db.database
    )
    before_tables = _system_tables(system)
    token = unique_name("x")
    # --dry-run everywhere: without the fix these only read, never write.
    for into in [SYSTEM[engine_name][0], f"bad;{token}", f"{token}{'a' * 64}", f"`{token}`"]:
        code, out = project.run_json(
            "restore", "dev", "--from", backup, "--into", into, "--dry-run"
        )
        _assert_refused(out, code)

    assert not [name for name in _databases(project.database) if token in name]
    assert _system_tables(system) == before_tables


@pytest.mark.parametrize("engine_name", ["sqlite"])
def test_into_faber_db_folders_or_another_environment_is_refused(project, tmp_path):
    build_schema(project.database)
    backup = backup_id(project)
    backup_file = project.root / project.catalogue()["backups"][0]["file"]
    production = tmp_path / "prod.db"
    production.write_bytes(Path(project.database.conn.database).read_bytes())
    project.env["FABER_TEST_PROD_URL"] = f"sqlite:///{production}"
    config = basic_config(dev="FABER_TEST_DEV_URL", production="FABER_TEST_PROD_URL")
    project.write_config(config)
    before = backup_file.read_bytes(), production.read_bytes()

    for into in [str(backup_file.relative_to(project.root)), str(production)]:
        code, out = project.run_json("restore", "dev", "--from", backup, "--into", into, "--yes")
        _assert_refused(out, code)

    assert (backup_file.read_bytes(), production.read_bytes()) == before
