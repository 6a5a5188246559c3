"""Fixtures: throwaway databases on the real servers (one per test), and a
temporary project wired to them; markers for the tests that need a server."""

from __future__ import annotations

from pathlib import Path

import pytest
import support
from support import ENGINES, Project, basic_config, create_database, drop_database

SERVER_ENGINES = ("postgresql", "mysql")
INTEGRATION_DIR = Path(__file__).resolve().parent / "integration"
# Parameters that name the engine a test runs on: `engine_name` (the `database` and
# `project` fixtures' parameter) and `engine` (tests that call make_database(engine)).
# A test whose parameter merely names an engine without using its server calls it
# something else (test_urls.py: `expected_engine`).
ENGINE_PARAMETERS = ("engine_name", "engine")


def pytest_collection_modifyitems(config, items):
    """Mark each test that needs a server: `postgresql` or `mysql` from its engine
    parameter (tests that reach a server another way carry the marker themselves),
    and `integration` for every test marked with either and every test under
    tests/integration/ (real databases, SQLite included, and the real CLI), so that
    `-m "not integration"` runs the unit tests alone and `-m "not postgresql and not
    mysql"` everything a machine without those servers can run."""
    for item in items:
        if INTEGRATION_DIR in item.path.parents:
            item.add_marker("integration")
        callspec = getattr(item, "callspec", None)
        params = callspec.params if callspec is not None else {}
        for name in ENGINE_PARAMETERS:
            if params.get(name) in SERVER_ENGINES:
                item.add_marker(params[name])
        if any(item.get_closest_marker(engine) for engine in SERVER_ENGINES):
            item.add_marker("integration")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Tell require_server which servers this test is marked for, so a test that
    reaches an unmarked server fails instead of slipping past `-m "not mysql"`."""
    support.MARKED_SERVERS = {e for e in SERVER_ENGINES if item.get_closest_marker(e)}


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item):
    """Forget the markers once the test (and its fixtures' teardown) is over."""
    support.MARKED_SERVERS = None


@pytest.fixture(params=ENGINES)
def engine_name(request) -> str:
    """Each engine in turn."""
    return request.param


@pytest.fixture
def database(engine_name, tmp_path):
    """An empty database of the parametrised engine, dropped afterwards."""
    db = create_database(engine_name, tmp_path)
    yield db
    drop_database(db)


@pytest.fixture
def make_database(tmp_path):
    """Factory for extra throwaway databases: make_database('postgresql')."""
    made = []

    def make(engine: str):
        db = create_database(engine, tmp_path)
        made.append(db)
        return db

    yield make
    for db in made:
        drop_database(db)


@pytest.fixture
def project(tmp_path, database) -> Project:
    """A project whose `dev` environment is the test's database."""
    root = tmp_path / "project"
    root.mkdir()
    proj = Project(root, {"FABER_TEST_DEV_URL": database.url})
    proj.write_config(basic_config(dev="FABER_TEST_DEV_URL"))
    proj.database = database
    return proj


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """A real SeaweedFS S3 server for the session (started on first use)."""
    from s3_support import S3Server

    server = S3Server(tmp_path_factory.mktemp("seaweedfs"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def s3_bucket(s3_server) -> str:
    """A fresh bucket on the session's S3 server."""
    return s3_server.new_bucket()
