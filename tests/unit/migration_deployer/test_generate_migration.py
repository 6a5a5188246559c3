"""`faber-db generate-migration`: Prisma's folder format and name rules."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timezone

import pytest
from migration_support import configure, migrations_dir
from support import Project, basic_config

from faber_db.config import load_config
from faber_db.errors import FaberError
from faber_db.exit_codes import ExitStatus
from faber_db.migration_deployer.generate import generate_migration


@pytest.fixture
def plain_project(tmp_path) -> Project:
    project = Project(tmp_path / "p", {"FABER_TEST_DEV_URL": f"sqlite:///{tmp_path / 'a.db'}"})
    project.root.mkdir()
    project.write_config(basic_config(dev="FABER_TEST_DEV_URL"))
    configure(project, "postgresql")
    return project


def test_generates_folder_file_and_lock(plain_project):
    code, out = plain_project.run_json("generate-migration", "Add User Table")
    assert code == 0, out
    folder = out["result"]["migration"]
    assert re.fullmatch(r"\d{14}_add_user_table", folder)
    path = migrations_dir(plain_project) / folder / "migration.sql"
    text = path.read_text()
    assert text.startswith(f"-- Migration {folder}\n")
    assert out["result"]["checksum"] == hashlib.sha256(path.read_bytes()).hexdigest()
    lock = (migrations_dir(plain_project) / "migration_lock.toml").read_text()
    assert lock.endswith('provider = "postgresql"\n') and len(lock.splitlines()) == 3


def test_sql_from_file(plain_project):
    sql = plain_project.root / "change.sql"
    sql.write_text("CREATE TABLE a (id int);\n\n")
    code, out = plain_project.run_json("generate-migration", "addA", "--from-file", "change.sql")
    assert code == 0 and out["result"]["migration"].endswith("_add_a"), out
    text = (plain_project.root / out["result"]["path"]).read_text()
    assert text.endswith("\nCREATE TABLE a (id int);\n")
    code, out = plain_project.run_json("generate-migration", "x", "--from-file", "missing.sql")
    assert code == ExitStatus.USAGE


def test_from_file_refuses_what_check_would_refuse(plain_project):
    configure(plain_project, "postgresql", migrations={"max_file_mb": 1})
    (plain_project.root / "big.sql").write_bytes(b"SELECT 1;\n" + b"-" * 2**20)
    (plain_project.root / "nul.sql").write_bytes(b"SELECT 1;\x00DROP TABLE t;\n")
    for name, reason in (("big.sql", "larger than 1 MiB"), ("nul.sql", "NUL byte")):
        code, out = plain_project.run_json("generate-migration", "x", "--from-file", name)
        assert code == ExitStatus.USAGE and reason in out["error"]["message"], out
    assert not migrations_dir(plain_project).exists() or not any(
        p.is_dir() for p in migrations_dir(plain_project).iterdir()
    )


@pytest.mark.parametrize("name", ["", "../escape", "a/b", "x;rm -rf ~", "$(id)", "a" * 190])
def test_bad_names_are_refused_and_nothing_is_written(plain_project, name):
    code, out = plain_project.run_json("generate-migration", name)
    assert code == ExitStatus.USAGE and out["error"]["code"] == "invalid_input", out
    assert not migrations_dir(plain_project).exists()


def test_an_existing_folder_is_never_overwritten(plain_project, monkeypatch):
    monkeypatch.chdir(plain_project.root)
    config = load_config()
    moment = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
    generate_migration(config, "same", now=moment)
    path = migrations_dir(plain_project) / "20240501120000_same" / "migration.sql"
    path.write_text("-- edited by hand\n")
    with pytest.raises(FaberError, match="never overwrites"):
        generate_migration(config, "same", now=moment)
    assert path.read_text() == "-- edited by hand\n"


def test_down_sql_from_file_sits_beside_migration_sql_outside_the_checksum(plain_project):
    (plain_project.root / "up.sql").write_text("CREATE TABLE a (id int);\n")
    (plain_project.root / "down.sql").write_text("DROP TABLE a;\n")
    code, out = plain_project.run_json(
        "generate-migration", "addA", "--from-file", "up.sql", "--down-from-file", "down.sql"
    )
    assert code == 0, out
    folder = migrations_dir(plain_project) / out["result"]["migration"]
    assert (folder / "down.sql").read_text() == "DROP TABLE a;\n"
    assert out["result"]["down_path"].endswith("/down.sql")
    up = (folder / "migration.sql").read_bytes()
    assert out["result"]["checksum"] == hashlib.sha256(up).hexdigest()
    before = set(migrations_dir(plain_project).iterdir())
    code, out = plain_project.run_json("generate-migration", "b", "--down-from-file", "nope.sql")
    assert code == ExitStatus.USAGE and "--down-from-file" in out["message"], out
    assert set(migrations_dir(plain_project).iterdir()) == before
