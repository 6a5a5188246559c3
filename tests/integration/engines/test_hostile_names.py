"""Hostile names on every engine: tables, columns, schemas and migrations named to
break out of quoting (dollar-quote tags, backslashes and psql's \\!, newlines, ';',
single and double quotes, backticks) back up and restore with their data equal, and
nothing they spell out ever runs. A catalogue edited to hold such a name is refused
cleanly, and `backups verify --deep` fails every backup that a restore would fail."""

from __future__ import annotations

import base64
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from restore_support import TRACKING, backup_id, build_schema, snapshot
from support import REPO_ROOT

from faber_db.engines import engine_for
from faber_db.engines.postgresql.restorer import PostgresRestorer, psql_safe
from faber_db.engines.restorer import BackupSource, RestoreContext
from faber_db.errors import RestoreFailedError
from faber_db.urls import parse_url

FORMATS = {"postgresql": ["custom", "sql"], "mysql": ["sql"], "sqlite": ["custom", "sql"]}


@pytest.fixture
def marker_dir():
    """A short directory that every hostile name tries to write a file into."""
    path = Path(tempfile.mkdtemp(prefix="fh", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def hostile_tables(engine: str, marks: Path) -> list[str]:
    """Table names that break naive quoting; each would create a file in `marks` if its
    text ever ran as a psql or mariadb client command, or as a statement of its own."""
    names = [
        f"$faber_check$\\! touch {marks}/1 #",
        f"x\n\\! touch {marks}/2\n--",
        "q'uo\"te`s; DROP TABLE t --",
        "back\\slash\\",
        "$$ END $$;",
        "dot.ted",
    ]
    if engine == "sqlite":
        # Python's iterdump pasted a table name into a string literal: this one made a
        # SQL dump carry its own ATTACH, which creates a file when the dump is loaded.
        names.append(
            "t' || char(34) || ' VALUES(1);' || char(10) || "
            f"'ATTACH ''{marks}/3'' AS e;' || char(10) || 'INSERT INTO ' || char(34) || 't"
        )
    return names


def hostile_column(marks: Path) -> str:
    return f"c'o\"l`\n\\! touch {marks}/4"


def hostile_migration(marks: Path) -> str:
    return f"20240101000000_x$faber_check$\\! touch {marks}/5 #'"


def build_hostile(database, marks: Path) -> list[str]:
    """Hostile tables (with a hostile column and hostile values), a hostile schema on
    PostgreSQL, and a tracking table holding a hostile migration name."""
    engine = engine_for(database.conn)
    q = engine.quote
    column = q(hostile_column(marks))
    statements, tables = ["CREATE TABLE t (a INT)", TRACKING[database.engine]], []
    for name in hostile_tables(database.engine, marks):
        tables.append(name)
        statements += [
            f"CREATE TABLE {q(name)} (id INT PRIMARY KEY, {column} VARCHAR(100))",
            f"INSERT INTO {q(name)} VALUES (1, NULL)",
        ]
    if database.engine == "postgresql":
        schema = f"s$faber_check$\\! touch {marks}/6 #"
        statements += [
            f"CREATE SCHEMA {q(schema)}",
            f"CREATE TABLE {q(schema)}.{q(tables[0])} (id INT PRIMARY KEY)",
            f"INSERT INTO {q(schema)}.{q(tables[0])} VALUES (7), (8)",
        ]
    database.script(statements)
    placeholder = engine.placeholder
    for name in tables:
        database.execute(
            f"INSERT INTO {q(name)} VALUES (2, {placeholder})", (f"v'\"`\\\n$$;{name}",)
        )
    database.execute(
        "INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, started_at,"
        f" applied_steps_count) VALUES ('m1', 'c0ffee', '2024-01-01 00:00:00', {placeholder},"
        " '2024-01-01 00:00:00', 1)",
        (hostile_migration(marks),),
    )
    return tables


def migrations(database) -> list[str]:
    rows = database.execute(
        "SELECT migration_name FROM _prisma_migrations WHERE rolled_back_at IS NULL"
        " ORDER BY started_at, migration_name"
    )
    return [row[0] for row in rows]


def assert_nothing_ran(marks: Path) -> None:
    assert sorted(os.listdir(marks)) == [], "a hostile name ran as a command"


@pytest.mark.parametrize(
    ("engine_name", "fmt"),
    [(engine, fmt) for engine, formats in FORMATS.items() for fmt in formats],
)
def test_hostile_names_round_trip_and_nothing_runs(project, marker_dir, fmt):
    database = project.database
    tables = build_hostile(database, marker_dir)
    at_backup = snapshot(database)
    history = migrations(database)
    backup = backup_id(project, "dev", "--format", fmt)
    engine = engine_for(database.conn)
    q, placeholder = engine.quote, engine.placeholder
    database.script(
        [
            f"INSERT INTO {q(tables[0])} VALUES (3, NULL)",
            f"DROP TABLE {q(tables[1])}",
            f"UPDATE {q(tables[2])} SET id = 9 WHERE id = 1",
        ]
    )
    database.execute(
        "INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, started_at,"
        f" applied_steps_count) VALUES ('m2', 'c0ffee', '2024-02-02 00:00:00', {placeholder},"
        " '2024-02-02 00:00:00', 1)",
        (f"20240202000000_$$\\! touch {marker_dir}/7",),
    )

    code, out = project.run_json("rollback", "dev", "--yes")

    assert code == 0, out
    assert out["result"]["verification"]["passed"] is True, out
    assert snapshot(database) == at_backup
    assert migrations(database) == history
    code, out = project.run_json("backups", "verify", backup, "--deep")
    assert code == 0, out
    assert out["result"]["verification"]["deep"]["passed"] is True, out
    assert_nothing_ran(marker_dir)


@pytest.mark.parametrize("engine_name", ["postgresql"])
def test_schema_whose_name_holds_a_dot_backs_up_and_rolls_back(project):
    # "a.b" + "c.d" is "a.b.c.d" in the manifest: counted and checked by its parts.
    database = project.database
    database.script(
        [
            'CREATE SCHEMA "a.b"',
            'CREATE TABLE "a.b"."c.d" (id INT PRIMARY KEY)',
            'INSERT INTO "a.b"."c.d" VALUES (1), (2)',
        ]
    )
    backup = backup_id(project)
    database.execute('INSERT INTO "a.b"."c.d" VALUES (3)')

    code, out = project.run_json("rollback", "dev", "--yes")

    assert code == 0, out
    assert out["result"]["verification"]["passed"] is True, out
    assert database.execute('SELECT id FROM "a.b"."c.d" ORDER BY id') == [(1,), (2,)]
    entry = next(b for b in project.catalogue()["backups"] if b["id"] == backup)
    assert entry["manifest"]["tables"] == {"a.b.c.d": 2}
    code, out = project.run_json("backups", "verify", backup, "--deep")
    assert code == 0, out


def test_hand_edited_migration_history_is_refused_and_nothing_runs(project, marker_dir):
    database = project.database
    build_schema(database)
    backup = backup_id(project)
    database.execute("INSERT INTO customers (name) VALUES ('dora')")
    before = snapshot(database)
    catalogue = project.catalogue()
    entry = catalogue["backups"][0]
    hostile = [
        f"20240101000000_init$faber_check$;\n\\! touch {marker_dir}/1\n",
        f"x'); \\! touch {marker_dir}/2 ; --",
        f"`; \\! touch {marker_dir}/3 #",
    ]
    entry["migrations"]["migrations_list"] = hostile
    entry["migrations"]["applied_count"] = len(hostile)
    entry["migrations"]["last_migration"] = hostile[-1]
    project.catalogue_path.write_text(json.dumps(catalogue))

    code, out = project.run_json("restore", "dev", "--from", backup, "--no-safety-backup", "--yes")

    assert code != 0 and out["status"] == "error", out
    assert out["error"]["code"] in ("restore_failed", "verification_failed"), out
    assert "migration" in out["message"], out
    assert snapshot(database) == before
    assert_nothing_ran(marker_dir)
    code, out = project.run_json("backups", "verify", backup, "--deep")
    assert code != 0 and out["status"] == "error", out
    assert_nothing_ran(marker_dir)


def test_deep_verify_fails_what_the_restore_fails_and_the_same_way(project):
    database = project.database
    build_schema(database)
    backup = backup_id(project)
    before = snapshot(database)
    catalogue = project.catalogue()
    tables = catalogue["backups"][0]["manifest"]["tables"]
    orders = next(name for name in tables if name.endswith("orders"))
    tables[orders] += 1  # the manifest now claims a row the file does not hold
    project.catalogue_path.write_text(json.dumps(catalogue))

    restore_code, restored = project.run_json(
        "restore", "dev", "--from", backup, "--no-safety-backup", "--yes"
    )
    verify_code, verified = project.run_json("backups", "verify", backup, "--deep")

    assert restore_code != 0 and restored["status"] == "error", restored
    assert verify_code != 0 and verified["status"] == "error", verified
    # verify --deep predicts the restore: same refusal, for the same reason
    assert verified["error"]["code"] == restored["error"]["code"], (restored, verified)
    assert "orders" in restored["message"] and "orders" in verified["message"], verified
    assert snapshot(database) == before
    stored = next(b for b in project.catalogue()["backups"] if b["id"] == backup)
    assert stored["verification"]["deep"]["passed"] is False


# -- the PostgreSQL pre-commit script itself (no server needed) -------------------------
def _check_script(tables: dict, migration_names: list[str]) -> str:
    context = RestoreContext(
        config=SimpleNamespace(migrations_table="_prisma_migrations"), environment="dev"
    )
    restorer = PostgresRestorer(engine=None, context=context)
    entry = SimpleNamespace(
        manifest={"tables": tables, "row_counts_exact": True},
        migrations={"table_present": True, "migrations_list": migration_names},
    )
    return restorer.precommit_checks(BackupSource(entry, Path("unused")))


def test_precommit_script_carries_names_only_as_base64(marker_dir):
    tables = {f"public.{name}": 2 for name in hostile_tables("postgresql", marker_dir)}
    names = [hostile_migration(marker_dir), "$faber_check$", "\\!"]

    script = _check_script(tables, names)

    assert "\\" not in script and "touch" not in script
    assert script.count("$faber_check$") == 2
    encoded = script.split("decode('", 1)[1].split("'", 1)[0]
    spec = json.loads(base64.b64decode(encoded))
    assert spec["migrations"] == names
    assert sorted(key for key, _, _, _ in spec["tables"]) == sorted(tables)


def test_psql_safe_refuses_a_backslash_or_a_stray_tag():
    with pytest.raises(RestoreFailedError):
        psql_safe("DO $faber_check$ BEGIN END $faber_check$;\n\\! id\n")
    with pytest.raises(RestoreFailedError):
        psql_safe("DO $faber_check$ $faber_check$ $faber_check$;")


def test_postgresql_handler_refuses_a_check_script_with_a_backslash(tmp_path, marker_dir):
    check = tmp_path / "check.sql"
    check.write_text(f"SELECT 1;\n\\! touch {marker_dir}/1\n")
    dump = tmp_path / "empty.dump"
    dump.write_bytes(b"")
    env = {
        **os.environ,
        "FABER_FILE": str(dump),
        "FABER_FORMAT": "custom",
        "FABER_COMPRESSION": "none",
        "FABER_CHECK_SQL": str(check),
        "FABER_WORK_DIR": str(tmp_path),
        "PGHOST": "127.0.0.1",
        "PGPORT": "1",  # nothing listens: the handler must stop before connecting
    }
    handler = REPO_ROOT / "handlers" / "postgresql" / "restore-backup.sh"

    completed = subprocess.run([str(handler)], env=env, capture_output=True, text=True, timeout=60)

    assert completed.returncode != 0
    assert json.loads(completed.stdout)["error"]["code"] == "invalid_input", completed.stdout
    assert_nothing_ran(marker_dir)


# -- what the native clients are handed -------------------------------------------------
def _sqlite_tool(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    tool = REPO_ROOT / "handlers" / "sqlite" / "sqlite_tool.py"
    return subprocess.run(
        [sys.executable, str(tool), *args], input=stdin, capture_output=True, timeout=60
    )


def test_sqlite_sql_dump_of_hostile_names_loads_equal_and_runs_nothing(tmp_path, marker_dir):
    source, copy = tmp_path / "source.db", tmp_path / "copy.db"
    db = sqlite3.connect(source)
    q = engine_for(parse_url(f"sqlite:///{source}")).quote
    db.execute("CREATE TABLE t (a INT)")
    for name in hostile_tables("sqlite", marker_dir) + ["cr\rname"]:
        db.execute(f"CREATE TABLE {q(name)} ({q(hostile_column(marker_dir))} TEXT)")
        db.execute(f"INSERT INTO {q(name)} VALUES (?)", (f"a\r\nb'\\{name}",))
    db.commit()
    db.close()

    dumped = _sqlite_tool("dump", str(source))
    loaded = _sqlite_tool("load", str(copy), stdin=dumped.stdout)

    assert dumped.returncode == 0 and loaded.returncode == 0, (dumped.stderr, loaded.stderr)
    assert _sqlite_rows(copy) == _sqlite_rows(source)
    assert_nothing_ran(marker_dir)


def test_sqlite_load_refuses_a_dump_that_attaches_a_file(tmp_path, marker_dir):
    # What Python's iterdump wrote for the crafted name above: old SQL backups may hold it.
    dump = f"BEGIN TRANSACTION;\nCREATE TABLE t(a);\nATTACH '{marker_dir}/1' AS e;\n"
    dump += f"VACUUM INTO '{marker_dir}/2';\nCOMMIT;\n"

    loaded = _sqlite_tool("load", str(tmp_path / "copy.db"), stdin=dump.encode())

    assert loaded.returncode != 0, loaded.stderr
    assert_nothing_ran(marker_dir)


def _sqlite_rows(path: Path) -> dict:
    db = sqlite3.connect(path)
    engine = engine_for(parse_url(f"sqlite:///{path}"))
    try:
        return {
            table: sorted(db.execute(f"SELECT * FROM {engine.quote_table(table)}").fetchall())
            for table in engine.list_tables(db)
        }
    finally:
        db.close()


@pytest.mark.parametrize("engine_name", ["mysql"])
def test_mysql_restore_handler_runs_no_client_command(database, tmp_path, marker_dir):
    # An older dump tool writes a name's newline into a comment unescaped, and without
    # the sandbox line the client would run the \! that follows: the handler refuses it.
    conn = database.conn
    defaults = tmp_path / "my.cnf"
    defaults.write_text(
        f"[client]\nuser={conn.user or 'root'}\nhost={conn.host}\nport={conn.port}\n"
        + (f"password={conn.password}\n" if conn.password else "")
    )
    dump = tmp_path / "dump.sql"
    dump.write_text(
        "CREATE TABLE t (a INT);\n-- Table structure for table `x\n"
        f"\\! touch {marker_dir}/1\n`\nINSERT INTO t VALUES (1);\n-- Dump completed\n"
    )
    work = tmp_path / "work"
    work.mkdir()
    env = {
        **os.environ,
        "FABER_FILE": str(dump),
        "FABER_COMPRESSION": "none",
        "FABER_MYSQL_DEFAULTS": str(defaults),
        "FABER_MYSQL_DATABASE": conn.database,
        "FABER_WORK_DIR": str(work),
    }
    handler = REPO_ROOT / "handlers" / "mysql" / "restore-backup.sh"

    completed = subprocess.run([str(handler)], env=env, capture_output=True, text=True, timeout=60)

    assert completed.returncode != 0, completed.stdout
    assert json.loads(completed.stdout)["error"]["code"] == "restore_failed"
    assert_nothing_ran(marker_dir)
