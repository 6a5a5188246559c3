"""Connection URL parsing and redaction."""

from __future__ import annotations

from pathlib import Path

import pytest

from faber_db.errors import InvalidUrlError, UnsupportedUrlError
from faber_db.urls import parse_url, redact_text


@pytest.mark.parametrize(
    ("url", "expected_engine", "database", "port"),
    [
        ("postgresql://u:p@db.example:5433/app", "postgresql", "app", 5433),
        ("postgres://u@db/app?sslmode=require", "postgresql", "app", 5432),
        ("mysql://root@127.0.0.1/test", "mysql", "test", 3306),
        ("mariadb://root:x@[::1]:3307/test", "mysql", "test", 3307),
    ],
)
def test_server_urls(url, expected_engine, database, port):
    conn = parse_url(url)
    assert (conn.engine, conn.database, conn.port) == (expected_engine, database, port)


def test_password_is_unquoted_and_never_printed():
    conn = parse_url("postgresql://app:p%40ss%3Aword@h/db")
    assert conn.password == "p@ss:word"
    assert "p@ss" not in repr(conn) and "p@ss" not in conn.redacted()
    assert conn.redacted() == "postgresql://app:***@h:5432/db"


def test_sqlite_relative_and_absolute(tmp_path):
    assert parse_url("sqlite:///dev.db", tmp_path).database == str(tmp_path / "dev.db")
    assert parse_url("sqlite:////var/data/app.db").database == "/var/data/app.db"
    assert parse_url(parse_url("sqlite:///x.db", Path("/srv")).redacted()).database == "/srv/x.db"


@pytest.mark.parametrize("url", ["oracle://x@h/db", "mongodb://h/db", "http://h/db"])
def test_unsupported_scheme(url):
    with pytest.raises(UnsupportedUrlError):
        parse_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "not a url",
        "postgresql://h",
        "postgresql://h/a/b",
        "sqlite://relative.db",
        "sqlite:///",
        "postgresql://h:notaport/db",
    ],
)
def test_invalid_urls(url):
    with pytest.raises(InvalidUrlError):
        parse_url(url)


def test_redact_text_masks_urls_and_secrets():
    text = "could not connect to postgresql://bob:hunter2@h/db (hunter2)"
    assert "hunter2" not in redact_text(text, ["hunter2"])


def test_percent_encoded_password_is_scrubbed_from_child_environments(monkeypatch):
    from faber_db.handler_runner import build_environment

    written = "p%40ss%3Aw%2Frd%2520%23U1"  # p@ss:w/rd%20#U1
    monkeypatch.setenv("FABER_TEST_URL_VAR", f"mysql://u:{written}@host/db")
    monkeypatch.setenv("FABER_TEST_PLUS_VAR", "p%40ss%3Aw%2Frd%2520%23U1".lower())
    monkeypatch.setenv("FABER_TEST_RAW_VAR", "x p@ss:w/rd%20#U1 y")
    monkeypatch.setenv("FABER_TEST_QUERY_VAR", "postgresql://h/db?sslpassword=k%2By%2Fz")
    assert parse_url(f"mysql://u:{written}@host/db").password == "p@ss:w/rd%20#U1"
    parse_url("postgresql://h/db?sslpassword=k%2By%2Fz")
    env = build_environment({})
    assert not [name for name in env if name.startswith("FABER_TEST_") and name.endswith("_VAR")]
    assert redact_text(f"failed with {written}") == "failed with ***"
