"""The PostgreSQL restore's pre-commit check script, built without a server: every
name from the manifest travels as base64 of JSON, so the script is our constant
text and psql finds no meta-command in it whatever the names hold."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from faber_db.engines import engine_for
from faber_db.engines.postgresql.restorer import (
    CHECK_TAG,
    CHECK_TEMPLATE,
    PostgresRestorer,
    psql_safe,
)
from faber_db.engines.restorer import BackupSource, RestoreContext
from faber_db.errors import RestoreFailedError
from faber_db.urls import parse_url

HOSTILE = "t'; DROP TABLE x; -- \\! rm -rf / $faber_check$"


def restorer(tracking: str = "_prisma_migrations") -> PostgresRestorer:
    config = SimpleNamespace(migrations_table=tracking)
    engine = engine_for(parse_url("postgresql://app@db.example:5432/shop"))
    return PostgresRestorer(engine, RestoreContext(config, "dev"))


def source(tables: dict, migrations: list | None = None, exact: bool = True) -> BackupSource:
    entry = SimpleNamespace(
        manifest={"tables": tables, "row_counts_exact": exact},
        migrations={"table_present": migrations is not None, "migrations_list": migrations or []},
    )
    return BackupSource(entry, Path("/nonexistent"))


def spec_of(script: str) -> dict:
    (encoded,) = re.findall(r"decode\('([A-Za-z0-9+/=]+)', 'base64'\)", script)
    return json.loads(base64.b64decode(encoded).decode("utf-8"))


def test_the_script_is_the_template_with_the_spec_as_base64():
    tables = {"public.users": 3, "public.orders": 0}
    script = restorer().precommit_checks(source(tables, ["20240101_init"]))
    assert script == CHECK_TEMPLATE.replace("@SPEC@", re.findall(r"decode\('([^']+)'", script)[0])
    assert spec_of(script) == {
        "tables": [
            ["public.orders", "public", "orders", 0],
            ["public.users", "public", "users", 3],
        ],
        "tracking": "_prisma_migrations",
        "migrations": ["20240101_init"],
    }


def test_no_manifest_name_reaches_the_script_as_text():
    tables = {f"public.{HOSTILE}": 1, f"{HOSTILE}.x": 2}
    script = restorer().precommit_checks(source(tables, [HOSTILE]))
    assert HOSTILE not in script and "DROP TABLE" not in script
    assert "\\" not in script
    assert script.count(CHECK_TAG) == 2
    spec = spec_of(script)
    assert spec["migrations"] == [HOSTILE]
    # schema and table are split at the first '.'; the full name travels too
    assert [f"{HOSTILE}.x", HOSTILE, "x", 2] in spec["tables"]
    assert ["public." + HOSTILE, "public", HOSTILE, 1] in spec["tables"]


def test_inexact_row_counts_check_no_tables_and_absent_history_no_migrations():
    spec = spec_of(restorer("my_tracking").precommit_checks(source({"public.t": 5}, exact=False)))
    assert spec == {"tables": [], "tracking": "my_tracking"}


@pytest.mark.parametrize(
    "script",
    ["SELECT 1; \\! id", f"DO {CHECK_TAG} BEGIN END {CHECK_TAG}; {CHECK_TAG}", "SELECT 1;"],
)
def test_psql_safe_refuses_a_backslash_or_a_stray_tag(script):
    with pytest.raises(RestoreFailedError) as caught:
        psql_safe(script)
    assert "Nothing was restored" in caught.value.message


def test_psql_safe_passes_the_template_through():
    script = CHECK_TEMPLATE.replace("@SPEC@", "e30=")
    assert psql_safe(script) == script
