"""`faber-db db-create`: creates the database (or SQLite file) once."""

from __future__ import annotations

import pytest
from support import (
    SERVER_URLS,
    Project,
    basic_config,
    require_server,
    server_url,
    unique_name,
)

from faber_db.engines import engine_for
from faber_db.urls import parse_url


@pytest.mark.parametrize("engine", ["sqlite", "postgresql", "mysql"])
def test_db_create_is_idempotent(engine, tmp_path):
    require_server(engine)
    if engine == "sqlite":
        url = f"sqlite:///{tmp_path / 'sub' / 'new.db'}"
    else:
        url = server_url(parse_url(SERVER_URLS[engine]), unique_name())
    project = Project(tmp_path / "p", {"FABER_TEST_DEV_URL": url})
    project.root.mkdir()
    project.write_config(basic_config(dev="FABER_TEST_DEV_URL"))
    conn = parse_url(url)
    try:
        code, out = project.run_json("db-create", "dev")
        assert code == 0 and out["result"]["created"] is True, out
        assert engine_for(conn).database_exists(conn.database)
        code, out = project.run_json("db-create", "dev")
        assert code == 0 and out["result"]["created"] is False, out
        assert "already exists" in out["message"]
    finally:
        engine_for(conn).drop_database(conn.database)
