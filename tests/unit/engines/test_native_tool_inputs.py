"""What faber-db hands the native tools, built without a server: libpq variables and
a pgpass file, a MySQL option file, the SQLite path. No password is ever in the
environment or an argument; it is in a private file whose syntax is escaped."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from faber_db.credentials import mysql_option_value, pgpass_line, secret_files
from faber_db.engines import engine_for
from faber_db.urls import parse_url

PASSWORD = "p:a\\s\"s'w#rd"


def read_secret(path: str) -> tuple[str, int]:
    return Path(path).read_text(encoding="utf-8"), stat.S_IMODE(os.stat(path).st_mode)


def test_postgresql_gets_libpq_variables_and_a_private_pgpass():
    url = "postgresql://app%40corp:{}@db.example:6543/shop?sslmode=require&connect_timeout=5"
    engine = engine_for(parse_url(url.format("p%3Aa%5Cs%22s%27w%23rd")))
    with secret_files() as secrets:
        env = engine.handler_environment(secrets)
        content, mode = read_secret(env.pop("PGPASSFILE"))
    assert env == {
        "PGDATABASE": "shop",
        "PGAPPNAME": "faber-db",
        "PGHOST": "db.example",
        "PGPORT": "6543",
        "PGUSER": "app@corp",
        "PGSSLMODE": "require",
        "PGCONNECT_TIMEOUT": "5",
    }
    assert content == pgpass_line("app@corp", PASSWORD) == "*:*:*:app@corp:p\\:a\\\\s\"s'w#rd\n"
    assert mode == 0o600


def test_postgresql_without_a_password_writes_no_pgpass():
    engine = engine_for(parse_url("postgresql://app@db/shop"))
    with secret_files() as secrets:
        assert "PGPASSFILE" not in engine.handler_environment(secrets)


def test_mysql_gets_a_private_option_file():
    url = "mysql://root:p%3Aa%5Cs%22s%27w%23rd@db.example/shop?ssl-ca=/etc/ca.pem"
    engine = engine_for(parse_url(url))
    with secret_files() as secrets:
        env = engine.handler_environment(secrets)
        content, mode = read_secret(env["FABER_MYSQL_DEFAULTS"])
    assert env["FABER_MYSQL_DATABASE"] == "shop"
    assert PASSWORD not in "".join(env.values())
    assert content.splitlines() == [
        "[client]",
        'user="root"',
        'host="db.example"',
        "port=3306",
        f"password={mysql_option_value(PASSWORD)}",
        'ssl-ca="/etc/ca.pem"',
    ]
    assert mode == 0o600


@pytest.mark.parametrize(
    ("value", "written"),
    [("plain", '"plain"'), ('say "hi"', "'say \"hi\"'"), ("back\\slash", '"back\\\\slash"')],
)
def test_mysql_option_values_are_quoted(value, written):
    assert mysql_option_value(value) == written


def test_sqlite_needs_only_its_file(tmp_path):
    engine = engine_for(parse_url("sqlite:///dev.db", tmp_path))
    with secret_files() as secrets:
        assert engine.handler_environment(secrets) == {
            "FABER_SQLITE_PATH": str((tmp_path / "dev.db").resolve())
        }
