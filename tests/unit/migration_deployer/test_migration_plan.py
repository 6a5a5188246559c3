"""Pure logic of a deploy: history diagnosis, transaction modes, backup policy."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from faber_db.config import Config, Target
from faber_db.engines import engine_for
from faber_db.engines.base import TrackedMigration
from faber_db.errors import InvalidInputError, PolicyBlockedError
from faber_db.migration_deployer.history import diagnose, format_moment
from faber_db.migration_deployer.plan import (
    check_auto_rollback,
    decide_backup,
    is_transaction_control,
    plan_migration,
    version_tuple,
)
from faber_db.migration_deployer.prisma_layout import Migration, checksum
from faber_db.sql.split import split_sql
from faber_db.urls import parse_url

NOW = datetime(2024, 1, 1, tzinfo=timezone.utc)


def local(name: str, sql: str = "SELECT 1;") -> Migration:
    return Migration(name, Path(name) / "migration.sql", sql.encode())


def row(name: str, sql: str = "SELECT 1;", finished=NOW, rolled_back=None, logs=None):
    return TrackedMigration(
        id=name + "-id",
        migration_name=name,
        checksum=checksum(sql.encode()),
        started_at=NOW,
        finished_at=finished,
        rolled_back_at=rolled_back,
        logs=logs,
        applied_steps_count=1 if finished else 0,
    )


# -- diagnosis ----------------------------------------------------------------------------
def test_history_without_table_is_all_pending():
    history = diagnose([local("a"), local("b")], None)
    assert [m.name for m in history.pending] == ["a", "b"]
    assert not history.table_present and not history.problems


def test_history_classifies_every_state():
    history = diagnose(
        [local("a"), local("b", "edited;"), local("c"), local("d"), local("e")],
        [
            row("a"),
            row("b"),
            row("c", finished=None, logs="boom"),
            row("d", finished=None, rolled_back=NOW),
            row("gone"),
        ],
    )
    assert history.applied == ["a", "b"]
    assert history.modified == ["b"]
    assert [r.migration_name for r in history.failed] == ["c"]
    assert [m.name for m in history.pending] == ["d", "e"]  # a rolled back row is pending again
    assert history.missing == ["gone"]
    states = {s.name: s.state for s in history.statuses()}
    assert states == {
        "a": "applied",
        "b": "modified",
        "c": "failed",
        "d": "pending",
        "e": "pending",
        "gone": "missing",
    }


def test_retried_migration_counts_once():
    history = diagnose([local("a")], [row("a", finished=None, rolled_back=NOW), row("a")])
    assert history.applied == ["a"] and not history.pending and not history.failed


def test_sqlite_millisecond_timestamps_are_formatted():
    assert format_moment(1704067200000) == "2024-01-01T00:00:00.000Z"
    assert format_moment(datetime(2024, 1, 1, 12)) == "2024-01-01T12:00:00.000Z"
    assert format_moment(None) is None


# -- transaction modes ----------------------------------------------------------------------
def engine(name: str):
    urls = {
        "postgresql": "postgresql://u@h/db",
        "mysql": "mysql://u@h/db",
        "sqlite": "sqlite:////tmp/x.db",
    }
    return engine_for(parse_url(urls[name]))


def test_postgres_migration_runs_in_a_transaction():
    planned = plan_migration(engine("postgresql"), local("a", "CREATE TABLE t (id int);"), "15.2")
    assert planned.transactional and planned.to_dict()["transaction"] == "transaction"


def test_concurrently_runs_without_transaction_and_says_why():
    sql = "CREATE TABLE t (id int);\nCREATE INDEX CONCURRENTLY t_id ON t (id);\n"
    planned = plan_migration(engine("postgresql"), local("a", sql), "15.2")
    assert not planned.transactional
    assert "statement 2 (line 2)" in planned.no_transaction_reasons[0]
    assert "CONCURRENTLY" in planned.no_transaction_reasons[0]


def test_mysql_never_runs_in_a_transaction():
    planned = plan_migration(engine("mysql"), local("a", "CREATE TABLE t (id int);"), "10.11")
    assert not planned.transactional
    assert "implicitly" in planned.no_transaction_reasons[0]


@pytest.mark.parametrize(
    ("sql", "control"),
    [
        ("BEGIN;", True),
        ("COMMIT;", True),
        ("START TRANSACTION;", True),
        ("ROLLBACK;", True),
        ("ROLLBACK TO SAVEPOINT s;", False),
        ("BEGIN NOT ATOMIC SELECT 1; END;", False),
        ("CREATE TABLE t (id int);", False),
    ],
)
def test_transaction_control_detection(sql, control):
    stmt = split_sql(sql, "mysql")[0]
    assert is_transaction_control(stmt, "mysql") is control


def test_script_with_its_own_transaction_is_not_wrapped():
    sql = "BEGIN;\nCREATE TABLE t (id int);\nCOMMIT;\n"
    planned = plan_migration(engine("postgresql"), local("a", sql), "15")
    assert not planned.transactional
    assert "controls its own transaction" in planned.no_transaction_reasons[0]


def test_version_tuple():
    assert version_tuple("15.20") == (15, 20)
    assert version_tuple("10.11.19-MariaDB-0+deb12u1") == (10, 11, 19)
    assert version_tuple("") is None


# -- backup policy --------------------------------------------------------------------------
def config_with(env_settings: dict, enforcement: dict | None = None) -> tuple[Config, Target]:
    data = {
        "schema_version": "1.0",
        "environments": {"dev": env_settings},
        "safety": {"protected_environments": [], "backup_enforcement": enforcement or {}},
    }
    config = Config(path=None, project_root=Path("/tmp"), data=data)
    return config, Target("dev", parse_url("sqlite:////tmp/x.db"), env_settings)


def test_no_backup_by_default_on_optional_envs():
    config, target = config_with({})
    decision = decide_backup(config, target, no_backup=False, auto_rollback=False)
    assert not decision.take


def test_backup_before_migrate_takes_one():
    config, target = config_with({"backup_before_migrate": True})
    decision = decide_backup(config, target, no_backup=False, auto_rollback=False)
    assert decision.take and "backup_before_migrate" in decision.why


def test_no_backup_is_refused_where_required():
    config, target = config_with({}, {"dev": "required"})
    assert decide_backup(config, target, False, False).take
    with pytest.raises(PolicyBlockedError):
        decide_backup(config, target, no_backup=True, auto_rollback=False)


def test_no_backup_warns_where_recommended():
    config, target = config_with({}, {"dev": "recommended"})
    assert decide_backup(config, target, False, False).take
    decision = decide_backup(config, target, no_backup=True, auto_rollback=False)
    assert not decision.take and decision.warnings


def test_auto_rollback_needs_a_backup():
    config, target = config_with({})
    assert decide_backup(config, target, False, auto_rollback=True).take
    with pytest.raises(InvalidInputError):
        check_auto_rollback(requested=True, no_backup=True)
