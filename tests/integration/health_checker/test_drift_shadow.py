"""The shadow database drift replays into: the Umami history shows no drift, the
shadow is gone after success, failure and SIGKILL (the next run drops it), a given
shadow must be empty and is emptied again, and the live database is only read."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from drift_support import MIGRATIONS
from migration_support import configure, migrations_dir, use_umami, write_migrations
from support import SERVER_URLS, create_database, drop_database

from faber_db.engines import engine_for
from faber_db.exit_codes import ExitStatus
from faber_db.health_checker import shadow as shadows
from faber_db.urls import parse_url

# A statement that runs for a while on each engine, so a run can be killed mid-replay.
SLOW = {
    "postgresql": "SELECT pg_sleep(60);",
    "mysql": "SELECT SLEEP(60);",
    "sqlite": (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000000000)"
        " SELECT count(*) FROM c;"
    ),
}
TABLE = {"t_init": "CREATE TABLE t (id INTEGER PRIMARY KEY, name VARCHAR(20) NOT NULL);\n"}


def shadow_names(project, engine_name: str) -> set[str]:
    """The shadows that exist now for this project's engine."""
    if engine_name == "sqlite":
        folder = shadows.shadow_folder(project.config_dir / "state")
        return {p.name for p in folder.glob("faber_shadow_*.db")} if folder.is_dir() else set()
    return set(
        engine_for(parse_url(SERVER_URLS[engine_name])).databases_with_prefix("faber_shadow_")
    )


def fingerprint(project) -> str:
    """The live database's schema fingerprint (drift must leave it as it was)."""
    engine = engine_for(project.database.conn)
    with engine.session() as db:
        return engine.schema_fingerprint(db)


@pytest.mark.parametrize("engine_name", ["postgresql"], indirect=True)
def test_umami_history_shows_no_drift_on_postgresql(project):
    configure(project, "postgresql")
    use_umami(project, "postgresql")
    assert project.run_json("migrate", "dev")[0] == 0
    before = shadow_names(project, "postgresql")
    code, out = project.run_json("drift", "dev")
    assert code == ExitStatus.SUCCESS, out["result"]["differences"]
    assert len(out["result"]["replayed"]) == 14 and out["result"]["shadow"] == "created"
    assert shadow_names(project, "postgresql") <= before


@pytest.mark.parametrize("engine_name", ["mysql"], indirect=True)
def test_umami_history_shows_no_drift_on_mysql(project):
    """The MySQL history up to 04 (05 needs MySQL 8's BIN_TO_UUID, not in MariaDB)."""
    configure(project, "mysql")
    directory = use_umami(project, "mysql")
    for later in sorted(p for p in directory.iterdir() if p.is_dir())[4:]:
        shutil.rmtree(later)
    assert project.run_json("migrate", "dev")[0] == 0
    code, out = project.run_json("drift", "dev")
    assert code == ExitStatus.SUCCESS, out["result"]["differences"]
    assert len(out["result"]["replayed"]) == 4


def test_shadow_is_gone_after_sigkill_next_run_success_and_failed_replay(project, engine_name):
    configure(project, engine_name)
    write_migrations(project, TABLE, engine_name)
    assert project.run_json("migrate", "dev")[0] == 0
    write_migrations(project, {"u_slow": SLOW[engine_name] + "\n"}, None)
    assert project.run_json("resolve", "dev", "--applied", "u_slow")[0] == 0
    before = shadow_names(project, engine_name)
    run = subprocess.Popen(
        [sys.executable, "-m", "faber_db", "drift", "dev", "--json"],
        cwd=project.root,
        env={**os.environ, **project.env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        left = wait_for_new_shadow(project, engine_name, before, run.pid)
    finally:
        run.send_signal(signal.SIGKILL)
        run.wait()
    assert shadow_names(project, engine_name) >= {left}, "SIGKILL leaves the shadow"

    (migrations_dir(project) / "u_slow" / "migration.sql").write_text("SELECT 1;\n")
    schema = fingerprint(project)
    code, out = project.run_json("drift", "dev")
    assert code == ExitStatus.DRIFT_FOUND and out["result"]["checksum_changed"] == ["u_slow"]
    assert any(left in w for w in out["warnings"]), out["warnings"]
    assert shadow_names(project, engine_name) <= before, "and this run's own is gone"

    # recorded as applied without running: it cannot replay (there is no table u)
    write_migrations(project, {"u_fill": "INSERT INTO u (id) VALUES (1);\n"}, None)
    assert project.run_json("resolve", "dev", "--applied", "u_fill")[0] == 0
    code, out = project.run_json("drift", "dev")
    assert code == ExitStatus.FAILURE and out["error"]["code"] == "shadow_replay_failed", out
    assert "u_fill" in out["message"] and "shadow was dropped" in out["message"]
    assert shadow_names(project, engine_name) <= before
    assert fingerprint(project) == schema, "the live database is only read"


def wait_for_new_shadow(project, engine_name: str, before: set[str], pid: int) -> str:
    """The name of the shadow the run with this pid made (waits up to 60 s)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        mine = [n for n in shadow_names(project, engine_name) - before if f"_{pid}_" in n]
        if mine:
            time.sleep(0.5)  # into the replay
            return mine[0]
        time.sleep(0.2)
    raise AssertionError("the drift run made no shadow")


def test_a_given_shadow_must_be_empty_and_is_emptied_again(project, engine_name, tmp_path):
    configure(project, engine_name)
    write_migrations(project, MIGRATIONS[engine_name], engine_name)
    assert project.run_json("migrate", "dev")[0] == 0
    given = create_database(engine_name, tmp_path)
    try:
        code, out = project.run_json("drift", "dev", "--shadow-url", given.url)
        assert code == ExitStatus.SUCCESS and out["result"]["shadow"] == "given", out
        engine = engine_for(given.conn)
        with engine.session() as db:
            assert not any(engine.schema_model(db).values()), "emptied again"
        given.script(["CREATE TABLE keep_me (id INTEGER PRIMARY KEY)"])
        project.env["FABER_TEST_SHADOW_URL"] = given.url
        config = configure(project, engine_name)
        config["environments"]["dev"]["shadow_url_env"] = "FABER_TEST_SHADOW_URL"
        project.write_config(config)
        code, out = project.run_json("drift", "dev")
        assert code == ExitStatus.FAILURE and out["error"]["code"] == "shadow_not_empty", out
        assert "keep_me" in out["message"]
        assert given.execute("SELECT COUNT(*) FROM keep_me") == [(0,)]
    finally:
        drop_database(given)


@pytest.mark.parametrize("engine_name", ["postgresql", "mysql"], indirect=True)
def test_sigterm_mid_replay_drops_the_shadow(project, engine_name):
    """(SQLite runs a statement in C without giving Python a chance to handle the
    signal, so there the next run cleans up, as after SIGKILL.)"""
    configure(project, engine_name)
    write_migrations(project, TABLE, engine_name)
    assert project.run_json("migrate", "dev")[0] == 0
    write_migrations(project, {"u_slow": SLOW[engine_name] + "\n"}, None)
    assert project.run_json("resolve", "dev", "--applied", "u_slow")[0] == 0
    before = shadow_names(project, engine_name)
    run = subprocess.Popen(
        [sys.executable, "-m", "faber_db", "drift", "dev", "--json"],
        cwd=project.root,
        env={**os.environ, **project.env},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        left = wait_for_new_shadow(project, engine_name, before, run.pid)
        run.send_signal(signal.SIGTERM)
        out, _ = run.communicate(timeout=30)
    finally:
        run.kill()
    assert run.returncode == ExitStatus.INTERRUPTED, out
    assert left not in shadow_names(project, engine_name)
