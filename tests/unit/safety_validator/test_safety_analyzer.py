"""faber_db.safety_validator.analyze_script: severities, positions, fallback, catalogue."""

from __future__ import annotations

import json
import logging
import re

import pytest
from support import REPO_ROOT, TESTS_DIR

from faber_db.safety_validator import RULES, SEVERITIES, analyze_script
from faber_db.safety_validator.rules.base import STATEMENT_RULES

DOCS = REPO_ROOT / "docs" / "SAFETY_RULES.md"
FIXTURES = TESTS_DIR / "fixtures" / "prisma-umami"
REQUIRED_CODES = {
    "drop_table", "drop_database", "drop_schema", "truncate", "delete_without_where",
    "drop_column", "update_without_where", "alter_column_type", "add_not_null_without_default",
    "set_not_null", "add_unique_constraint", "add_primary_key", "create_unique_index",
    "rename_table", "rename_column", "create_index_non_concurrent", "drop_index",
    "drop_constraint", "alter_type_add_value_in_transaction", "mixed_ddl_dml", "unparsed",
}  # fmt: skip


def rules_of(script: str, dialect: str = "postgresql", **kwargs) -> list[tuple[str, str]]:
    return [(f.rule, f.severity) for f in analyze_script(script, dialect, **kwargs)]


# --- catalogue --------------------------------------------------------------------------


def test_the_public_rule_codes_exist():
    assert set(RULES) >= REQUIRED_CODES
    assert all(severity in SEVERITIES for severity, _ in RULES.values())
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", code) for code in RULES)


def test_every_rule_code_is_documented():
    text = DOCS.read_text(encoding="utf-8")
    missing = [code for code in RULES if f"`{code}`" not in text]
    assert not missing, f"docs/SAFETY_RULES.md lacks {missing}"


def test_rules_are_small_registered_functions():
    assert len(STATEMENT_RULES) >= 20
    assert all(rule.__doc__ for rule in STATEMENT_RULES)


# --- severities -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sql,severity",
    [
        ("ALTER TABLE t ALTER COLUMN c TYPE varchar(20)", "danger"),
        ("ALTER TABLE t ALTER COLUMN c TYPE integer USING c::integer", "danger"),
        ("ALTER TABLE t ALTER COLUMN c TYPE numeric(10, 2)", "danger"),
        ("ALTER TABLE t ALTER COLUMN c TYPE text", "warning"),
        ("ALTER TABLE t ALTER COLUMN c TYPE bigint", "warning"),
        ("ALTER TABLE t ALTER COLUMN c TYPE timestamptz", "warning"),
        ("ALTER TABLE t ALTER COLUMN c TYPE varchar(20)[]", "danger"),
    ],
)
def test_alter_column_type_severity_says_whether_data_can_be_lost(sql, severity):
    assert rules_of(sql) == [("alter_column_type", severity)]


def test_mysql_text_is_narrow_but_longtext_is_not():
    assert rules_of("ALTER TABLE t MODIFY c TEXT NULL", "mysql") == [
        ("alter_column_type", "danger")
    ]
    assert rules_of("ALTER TABLE t MODIFY c LONGTEXT NULL", "mysql") == [
        ("alter_column_type", "warning")
    ]


def test_blocked_by_default():
    assert rules_of("DROP SCHEMA s; DROP DATABASE d;") == [
        ("drop_schema", "blocked"),
        ("drop_database", "blocked"),
    ]


def test_routine_bodies_are_capped_at_warning_but_do_blocks_are_not():
    function = "CREATE FUNCTION f() RETURNS void AS $$ BEGIN DROP TABLE t; END $$ LANGUAGE plpgsql;"
    block = "DO $$ BEGIN DROP TABLE t; END $$;"
    assert rules_of(function) == [("drop_table", "warning")]
    assert rules_of(block) == [("drop_table", "danger")]


# --- positions and fields ---------------------------------------------------------------


def test_findings_carry_position_migration_and_statement():
    script = "-- header\n\nCREATE TABLE a (id int);\n\nALTER TABLE users\n  DROP COLUMN email;\n"
    (finding,) = analyze_script(script, "postgresql", migration="20240101_drop_email")
    assert (finding.rule, finding.statement_index, finding.line) == ("drop_column", 1, 5)
    assert finding.migration == "20240101_drop_email"
    assert finding.statement == "ALTER TABLE users DROP COLUMN email"
    assert (finding.object, finding.table, finding.columns) == ("users.email", "users", ("email",))


def test_inner_statements_report_the_outer_statement_line():
    script = "SELECT 1;\nDO $$\nDECLARE n int;\nBEGIN\n  n := 1;\n\n  DELETE FROM audit;\nEND $$;"
    (finding,) = analyze_script(script, "postgresql")
    assert (finding.rule, finding.statement_index, finding.line) == ("delete_without_where", 1, 2)
    assert finding.statement == "DELETE FROM audit"
    assert finding.message.startswith("in DO block: ")


def test_statement_text_is_truncated_to_about_200_characters():
    columns = ", ".join(f"c{i}" for i in range(200))
    (finding,) = analyze_script(f"DELETE /* {columns} */ FROM t;", "postgresql")
    assert len(finding.statement) <= 200
    assert finding.statement.endswith("…")


def test_to_dict_round_trips_through_json():
    (finding,) = analyze_script("TRUNCATE users;", "postgresql")
    data = json.loads(json.dumps(finding.to_dict()))
    assert data == {
        "rule": "truncate",
        "severity": "danger",
        "message": finding.message,
        "migration": None,
        "statement_index": 0,
        "line": 1,
        "object": "users",
        "statement": "TRUNCATE users",
        "impact": None,
        "table": "users",
        "columns": [],
    }


def test_postgres_folds_unquoted_names_and_keeps_quoted_ones():
    findings = analyze_script(
        'DROP TABLE Users; DROP TABLE "Users"; DROP TABLE Public."Orders";', "postgres"
    )
    assert [f.object for f in findings] == ["users", "Users", "public.Orders"]


def test_mysql_keeps_names_as_written():
    assert [f.object for f in analyze_script("DROP TABLE Users;", "mysql")] == ["Users"]


# --- fallback ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "dialect,sql,expected",
    [
        ("mysql", "DELETE LOW_PRIORITY QUICK IGNORE FROM jobs", ("delete_without_where", "jobs")),
        ("mysql", "UPDATE LOW_PRIORITY IGNORE jobs SET a = 1", ("update_without_where", "jobs")),
        ("sqlite", "UPDATE OR IGNORE jobs SET a = 1", ("update_without_where", "jobs")),
        (
            "postgresql",
            "ALTER TABLE t ALTER COLUMN c TYPE int, OWNER TO bob",
            ("alter_column_type", "t.c"),
        ),
    ],
)
def test_unparsed_statements_get_a_conservative_keyword_check(dialect, sql, expected):
    findings = analyze_script(sql, dialect)
    assert [(f.rule, f.object) for f in findings] == [expected, ("unparsed", None)]
    assert findings[0].severity == "danger"


def test_fallback_never_fires_on_strings_or_comments():
    sql = "SECURITY LABEL ON TABLE t IS 'DROP TABLE t; DELETE FROM t' -- TRUNCATE t\n"
    assert rules_of(sql) == [("unparsed", "warning")]


def test_sqlglot_fallback_warnings_are_not_logged(caplog):
    with caplog.at_level(logging.WARNING):
        analyze_script("ALTER TABLE a VALIDATE CONSTRAINT b; VACUUM FULL a;", "postgresql")
    assert not [r for r in caplog.records if "Falling back" in r.getMessage()]


def test_server_version_matters_only_when_known():
    add_value = "ALTER TYPE mood ADD VALUE 'ok';"
    assert rules_of(add_value) == []
    assert rules_of(add_value, server_version=(11, 2)) == [
        ("alter_type_add_value_in_transaction", "danger")
    ]


# --- fixtures and speed -----------------------------------------------------------------


def test_umami_postgresql_history():
    seen = {}
    for path in sorted((FIXTURES / "postgresql").glob("*/migration.sql")):
        findings = analyze_script(path.read_text(), "postgresql", path.parent.name)
        seen[path.parent.name] = sorted({f.rule for f in findings})
    assert seen["01_init"] == []  # new tables, indexes on them and their seed row: nothing to fear
    assert seen["04_team_redesign"] == [
        "create_index_non_concurrent",
        "drop_table",
        "mixed_ddl_dml",
    ]
    assert seen["12_update_report_parameter"] == ["alter_column_type"]
    assert "unparsed" not in {rule for rules in seen.values() for rule in rules}


def test_umami_mysql_add_then_require_column():
    script = (FIXTURES / "mysql/05_add_visit_id/migration.sql").read_text()
    assert sorted({f.rule for f in analyze_script(script, "mysql")}) == [
        "mixed_ddl_dml",
        "set_not_null",
    ]


def test_large_seed_script_is_analysed_as_data():
    """30,000 rows with SQL inside their strings; bench/check.py measures the speed."""
    rows = ",".join(f"({i}, 'name {i}; DROP TABLE x')" for i in range(30_000))
    script = f"CREATE TABLE t (id int, name text);\nINSERT INTO t VALUES {rows};\nDELETE FROM u;"
    findings = analyze_script(script, "postgresql")
    assert [f.rule for f in findings] == ["delete_without_where", "mixed_ddl_dml"]
