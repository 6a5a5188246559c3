"""Helpers shared by the tests: server URLs, throwaway databases, and running
the real `faber-db` command the way users do."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

from faber_db.engines import engine_for
from faber_db.errors import FaberError
from faber_db.resources import validation_errors
from faber_db.urls import parse_url

TESTS_DIR = Path(__file__).resolve().parent  # support modules, fixtures, safety_corpus
REPO_ROOT = TESTS_DIR.parent
FIXTURES = REPO_ROOT / "tests" / "fixtures"
SERVER_URLS = {
    "postgresql": os.environ.get(
        "FABER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    ),
    "mysql": os.environ.get("FABER_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test"),
}
ENGINES = ("sqlite", "postgresql", "mysql")
# The servers the running test is marked for (set by conftest.py; None outside a test).
MARKED_SERVERS: set[str] | None = None


def skip_outside_ci(message: str) -> None:
    """Skip a test whose environment is missing; under CI=true, where everything it
    needs is installed, fail instead, so nothing is silently left untested."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def require_server(engine: str) -> None:
    """Skip when the server is unreachable; under CI=true, fail instead. A test that
    needs a server must carry its marker (`postgresql` or `mysql`, see conftest.py)."""
    if engine == "sqlite":
        return
    if MARKED_SERVERS is not None and engine not in MARKED_SERVERS:
        pytest.fail(f"this test uses the {engine} server: mark it @pytest.mark.{engine}")
    try:
        engine_for(parse_url(SERVER_URLS[engine])).connect().close()
    except FaberError as exc:
        skip_outside_ci(f"{engine} server at {SERVER_URLS[engine]} is unreachable: {exc.message}")


def unique_name(prefix: str = "faber_test") -> str:
    """A database name no other test uses."""
    return f"{prefix}_{secrets.token_hex(5)}"


@dataclass
class Database:
    """A throwaway database on a real server (or a SQLite file)."""

    engine: str
    url: str

    @property
    def conn(self):
        """Parsed ConnectionInfo."""
        return parse_url(self.url)

    def connect(self):
        """A DB-API connection (autocommit)."""
        return engine_for(self.conn).connect()

    def execute(self, sql: str, params=()) -> list[tuple]:
        """Run one statement and return its rows."""
        db = self.connect()
        try:
            return engine_for(self.conn).query(db, sql, params)
        finally:
            db.close()

    def script(self, statements: list[str]) -> None:
        """Run several statements on one connection."""
        db = self.connect()
        try:
            cursor = db.cursor()
            for statement in statements:
                cursor.execute(statement)
            cursor.close()
        finally:
            db.close()


def create_database(engine: str, tmp_path: Path) -> Database:
    """Create an empty database for `engine`; the caller drops it."""
    require_server(engine)
    if engine == "sqlite":
        path = tmp_path / f"{unique_name('app')}.db"
        engine_for(parse_url(f"sqlite:///{path}")).create_database(str(path))
        return Database("sqlite", f"sqlite:///{path}")
    base = parse_url(SERVER_URLS[engine])
    name = unique_name()
    engine_for(base).create_database(name)
    return Database(engine, server_url(base, name))


def server_url(base, database: str, user: str | None = None, password: str | None = None) -> str:
    """A URL for `database` on the same server as `base` (optionally as another user)."""
    user = user or base.user or ""
    password = password if password is not None else (base.password or "")
    auth = (
        quote(user, safe="") + (":" + quote(password, safe="") if password else "") + "@"
        if user
        else ""
    )
    return f"{base.scheme}://{auth}{base.host}:{base.port}/{database}"


def drop_database(database: Database) -> None:
    """Drop a database made by create_database."""
    engine_for(database.conn).drop_database(database.conn.database)


@dataclass
class CommandOutput:
    """What one `faber-db` run printed and returned."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def json(self) -> dict:
        """The JSON object on stdout, checked against schemas/result.schema.json."""
        data = json.loads(self.stdout)
        problems = validation_errors(data, "result")
        assert not problems, problems
        return data


class Project:
    """A temporary project directory with a config, and a way to run faber-db in it."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root = root
        self.env = env

    @property
    def config_dir(self) -> Path:
        """.fractary/plugins/faber-db"""
        return self.root / ".fractary" / "plugins" / "faber-db"

    @property
    def catalogue_path(self) -> Path:
        """backups.json"""
        return self.config_dir / "backups" / "backups.json"

    def write_config(self, config: dict) -> None:
        """Write config.json."""
        self.config_dir.mkdir(parents=True, exist_ok=True)
        (self.config_dir / "config.json").write_text(json.dumps(config, indent=2))

    def run(
        self, *args: str, stdin: str | None = None, timeout: float = 300, env: dict | None = None
    ) -> CommandOutput:
        """Run `faber-db ARGS` in the project, like a user would."""
        completed = subprocess.run(
            [sys.executable, "-m", "faber_db", *args],
            cwd=self.root,
            env={**os.environ, **self.env, **(env or {})},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return CommandOutput(completed.returncode, completed.stdout, completed.stderr)

    def run_json(self, *args: str, **kwargs) -> tuple[int, dict]:
        """Run with --json; return (exit code, parsed and schema-checked output)."""
        output = self.run(*args, "--json", **kwargs)
        try:
            return output.returncode, output.json
        except json.JSONDecodeError:
            raise AssertionError(
                f"not JSON (rc={output.returncode}):\n{output.stdout}\n{output.stderr}"
            ) from None

    def catalogue(self) -> dict:
        """backups.json as a dict ({'backups': []} when absent)."""
        if not self.catalogue_path.exists():
            return {"backups": []}
        return json.loads(self.catalogue_path.read_text())


def basic_config(**environments: str) -> dict:
    """A config whose environments read the given variables (name -> VARIABLE)."""
    return {
        "schema_version": "1.0",
        "database": {"provider": "sqlite", "migration_tool": "prisma"},
        "environments": {
            name: {"connection_string_env": var} for name, var in environments.items()
        },
        "safety": {"protected_environments": ["production"]},
    }
