"""The engine registry is the one list of engines: schemas, URL schemes, Prisma
providers and install hints all come from the Engine classes it names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import REPO_ROOT

from faber_db.engines import (
    engine_class,
    engine_names,
    engine_of_scheme,
    install_hint,
    prisma_providers,
    url_schemes,
)
from faber_db.errors import UnsupportedUrlError
from faber_db.handler_runner import handler_error
from faber_db.urls import parse_url

SCHEMAS = REPO_ROOT / "schemas"


def _engine_enums(node, path=()):
    """Every enum in a schema that lists an engine name, with where it is."""
    if isinstance(node, dict):
        enum = node.get("enum")
        if isinstance(enum, list) and set(enum) & {"postgresql", "mysql", "sqlite"}:
            yield path, enum
        for key, value in node.items():
            yield from _engine_enums(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _engine_enums(value, (*path, index))


def test_every_engine_enum_in_the_schemas_equals_the_registry():
    found = []
    for schema in sorted(SCHEMAS.glob("*.json")):
        for path, enum in _engine_enums(json.loads(schema.read_text(encoding="utf-8"))):
            found.append(schema.name)
            assert sorted(enum) == sorted(engine_names()), f"{schema.name} {path}"
    # the catalogue's entries, the config's provider and the handler output name engines
    assert {"backups.schema.json", "config.schema.json", "handler-output.schema.json"} <= set(found)


def test_each_engine_names_a_restorer_that_exists():
    from importlib import import_module

    for name in engine_names():
        module_name, class_name = engine_class(name).restorer
        restorer = getattr(import_module(module_name), class_name)
        assert restorer.engine_name == name


def test_url_schemes_come_from_the_engines():
    assert url_schemes() == ["postgresql", "postgres", "mysql", "mariadb", "sqlite"]
    assert engine_of_scheme("postgres") == "postgresql"
    assert engine_of_scheme("mariadb") == "mysql"
    assert engine_of_scheme("oracle") is None
    assert parse_url("mariadb://u@h/db").port == engine_class("mysql").default_port == 3306
    assert parse_url("postgres://u@h/db").port == 5432
    with pytest.raises(UnsupportedUrlError) as caught:
        parse_url("oracle://h/db")
    assert "mariadb://" in caught.value.suggestions[0]


def test_prisma_providers_and_install_hints_come_from_the_engines():
    assert prisma_providers() == {"postgresql": "postgresql", "mysql": "mysql", "sqlite": "sqlite"}
    assert "postgresql-client" in install_hint("pg_dump")
    assert "mariadb-client" in install_hint("mysqldump")
    assert install_hint("no-such-tool") is None


@pytest.mark.parametrize(
    ("tool", "hint"),
    [
        ("pg_restore", "apt-get install postgresql-client"),
        ("mariadb", "apt-get install mariadb-client"),
        ("zstd", "--compression gzip"),
        ("frobnicate", "Install frobnicate"),
    ],
)
def test_a_missing_tool_names_how_to_install_it(tool, hint):
    output = {"status": "error", "tool": tool, "error": {"code": "tool_missing", "message": "x"}}
    error = handler_error(output, [], "create-backup.sh")
    assert error.code == "tool_missing"
    assert hint in error.suggestions[0]


def test_only_a_file_engine_is_file_based():
    assert [n for n in engine_names() if engine_class(n).file_database] == ["sqlite"]
    assert parse_url("sqlite:///x.db", Path("/tmp")).redacted() == "sqlite:////tmp/x.db"


def test_no_code_outside_the_engines_compares_an_engine_name():
    import re

    package = REPO_ROOT / "faber_db"
    names = "|".join(engine_names())
    pattern = re.compile(rf"""(engine|\.name|provider)\s*[!=]=\s*["']({names})["']""")
    offenders = [
        f"{path.relative_to(package)}:{number}"
        for path in package.rglob("*.py")
        if "engines" not in path.relative_to(package).parts
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []
