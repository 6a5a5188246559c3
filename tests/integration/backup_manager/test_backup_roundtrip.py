"""Back up awkward data with faber-db, restore it with the bare native tool into
a fresh database, and compare every row: the backup holds exactly the data."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sample_data import TABLES, load_sample, snapshot
from support import Project, basic_config

FORMATS = {
    "postgresql": [("custom", "zstd"), ("sql", "gzip"), ("directory", "gzip"), ("custom", "none")],
    "mysql": [("sql", "zstd"), ("sql", "none")],
    "sqlite": [("custom", "zstd"), ("sql", "gzip")],
}
DECOMPRESS = {"zstd": ["zstd", "-dc"], "gzip": ["gzip", "-dc"], "none": ["cat"]}


def cases():
    return [(engine, fmt, comp) for engine, pairs in FORMATS.items() for fmt, comp in pairs]


@pytest.mark.parametrize(("engine", "fmt", "compression"), cases())
def test_round_trip_restores_every_row(engine, fmt, compression, make_database, tmp_path):
    source = make_database(engine)
    load_sample(source)
    project = Project(tmp_path / "project", {"FABER_TEST_DEV_URL": source.url})
    project.root.mkdir()
    project.write_config(basic_config(dev="FABER_TEST_DEV_URL"))

    code, out = project.run_json("backup", "dev", "--format", fmt, "--compression", compression)
    assert code == 0, out
    entry = project.catalogue()["backups"][0]
    assert entry["status"] == "valid" and entry["verification"]["integrity_check"] == "passed"
    assert entry["manifest"]["tables"] == {
        _qualified(engine, t): len(rows) for t, rows in snapshot(source).items()
    }

    copy = make_database(engine)
    native_restore(engine, project.root / entry["file"], fmt, compression, copy)
    assert snapshot(copy) == snapshot(source)
    assert_objects_survived(copy)


def _qualified(engine: str, table: str) -> str:
    return f"public.{table}" if engine == "postgresql" else table


def native_restore(engine: str, path: Path, fmt: str, compression: str, target) -> None:
    """Restore with the engine's own tools, the way an operator would by hand."""
    conn = target.conn
    if engine == "postgresql":
        env_args = ["-h", conn.host, "-p", str(conn.port), "-U", conn.user, "-d", conn.database]
        if fmt == "directory":
            subprocess.run(["pg_restore", "--exit-on-error", *env_args, str(path)], check=True)
            return
        tool = (
            ["psql", "-q", "-v", "ON_ERROR_STOP=1", *env_args]
            if fmt == "sql"
            else ["pg_restore", "--exit-on-error", *env_args]
        )
        _pipe(DECOMPRESS[compression] + [str(path)], tool)
    elif engine == "mysql":
        _pipe(
            DECOMPRESS[compression] + [str(path)],
            ["mariadb", "-h", conn.host, "-P", str(conn.port), "-u", conn.user, conn.database],
        )
    elif fmt == "custom":
        with open(conn.database, "wb") as out:
            subprocess.run(DECOMPRESS[compression] + [str(path)], stdout=out, check=True)
    else:
        script = "import sqlite3,sys; db=sqlite3.connect(sys.argv[1]); db.executescript(sys.stdin.read())"
        _pipe(DECOMPRESS[compression] + [str(path)], [sys.executable, "-c", script, conn.database])


def _pipe(producer: list[str], consumer: list[str]) -> None:
    first = subprocess.Popen(producer, stdout=subprocess.PIPE)
    second = subprocess.run(consumer, stdin=first.stdout, capture_output=True)
    first.stdout.close()
    assert first.wait() == 0
    assert second.returncode == 0, second.stderr.decode()


def assert_objects_survived(copy) -> None:
    """The view answers, the trigger fires, and the id sequence continues after the max."""
    assert copy.execute("SELECT COUNT(*) FROM published_posts")[0][0] > 0
    before = copy.execute("SELECT COUNT(*) FROM audit_log")[0][0]
    max_id = copy.execute("SELECT MAX(id) FROM posts")[0][0]
    copy.execute("INSERT INTO posts (author_id, title) VALUES (1, 'after restore')")
    assert copy.execute("SELECT COUNT(*) FROM audit_log")[0][0] == before + 1
    assert copy.execute("SELECT MAX(id) FROM posts")[0][0] > max_id


def test_manifest_lists_tables_and_fingerprint(project):
    load_sample(project.database)
    code, out = project.run_json("backup", "dev")
    assert code == 0
    manifest = out["result"]["manifest"]
    assert set(manifest["tables"]) == {_qualified(project.database.engine, t) for t in TABLES}
    assert manifest["schema_fingerprint"].startswith("sha256:")
    assert manifest["row_counts_exact"] is True
    assert json.dumps(out)  # serialisable


@pytest.mark.parametrize("engine_name", ["sqlite"], indirect=True)
def test_compression_level_is_configurable_and_checked(project):
    load_sample(project.database)
    config = json.loads((project.config_dir / "config.json").read_text())
    config["backup"] = {"compression_level": 12}

    project.write_config(config)
    code, out = project.run_json("backup", "dev")
    assert code == 0 and out["result"]["status"] == "valid", out
    code, out = project.run_json("backups", "verify", out["result"]["id"])
    assert code == 0, out

    code, out = project.run_json("backup", "dev", "--compression", "gzip")
    assert code != 0 and out["error"]["code"] == "unsupported_option", out
    assert "1-9" in out["message"]
