"""Fixtures: throwaway databases on the real servers (one per test), and a
temporary project wired to them."""

from __future__ import annotations

import pytest
from support import ENGINES, Project, basic_config, create_database, drop_database


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
