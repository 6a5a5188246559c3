"""The shortcuts that keep the safety check linear give the same answers as the
slow paths they replace (issue 10, section 7). Speed itself is measured by
bench/check.py, not here."""

from __future__ import annotations

import random

import pytest

from faber_db.safety_validator.analyzer import PARSER_MAX_BYTES, analyze_script
from faber_db.safety_validator.fallback import _filtered_starts
from faber_db.safety_validator.findings import truncate_statement
from faber_db.safety_validator.inserts import plain_insert_target
from faber_db.safety_validator.parsing import parse_statement, statement_category
from faber_db.safety_validator.rules import run_statement_rules
from faber_db.safety_validator.rules.base import RuleContext
from faber_db.safety_validator.script_rules import facts_of

PLAIN_INSERTS = [
    ("postgresql", "INSERT INTO posts (id, body) VALUES (1, 'a; DROP TABLE x; -- not SQL')"),
    ("postgresql", "INSERT INTO app.\"Posts\" VALUES (1, $$its$$), (2, E'\\'')"),
    ("postgresql", "INSERT INTO Posts (id) VALUES (1) ON CONFLICT (id) DO NOTHING RETURNING id"),
    ("postgresql", "INSERT INTO t (a, b) VALUES (now(), gen_random_uuid()), (NULL, DEFAULT)"),
    ("mysql", "INSERT INTO `db`.`t` (`a`) VALUES ('x\\'; DELETE FROM t; '), (\"update\")"),
    ("sqlite", "INSERT INTO [t] (a) VALUES (x'00ff'), (-1.5e3)"),
]
NOT_PLAIN = [
    ("postgresql", "INSERT INTO t SELECT * FROM u"),
    ("postgresql", "INSERT INTO t (a) VALUES ((SELECT max(a) FROM u))"),
    ("postgresql", "INSERT INTO t (a) VALUES (1) ON CONFLICT (a) DO UPDATE SET a = 2"),
    ("postgresql", "INSERT INTO t AS x VALUES (1)"),
    ("postgresql", "INSERT INTO t DEFAULT VALUES"),
    ("postgresql", "WITH d AS (DELETE FROM u RETURNING *) INSERT INTO t SELECT * FROM d"),
    ("mysql", "INSERT INTO t (a) VALUES (1) ON DUPLICATE KEY UPDATE a = 2"),
    ("mysql", "INSERT INTO t (a) VALUES (1) /*!50000 , (2) */"),
    ("sqlite", "INSERT OR REPLACE INTO t VALUES (1)"),
]


@pytest.mark.parametrize(("dialect", "sql"), PLAIN_INSERTS)
def test_plain_insert_shortcut_agrees_with_sqlglot(dialect, sql):
    expr = parse_statement(sql, dialect)
    assert expr is not None, "the reference parse must succeed"
    assert run_statement_rules(expr, RuleContext(dialect, None)) == []
    assert statement_category(expr) == "dml"
    assert plain_insert_target(sql, dialect) == facts_of(expr, dialect).writes


@pytest.mark.parametrize(("dialect", "sql"), NOT_PLAIN)
def test_inserts_that_may_do_more_still_go_to_sqlglot(dialect, sql):
    assert plain_insert_target(sql, dialect) is None


def test_a_long_plain_insert_with_keywords_in_its_strings_is_still_plain():
    rows = ", ".join(f"({i}, 'select update delete with; {i}')" for i in range(3000))
    assert plain_insert_target(f"INSERT INTO t (a, b) VALUES {rows}", "postgresql") == "t"
    rows += ", ((SELECT 1))"
    assert plain_insert_target(f"INSERT INTO t (a, b) VALUES {rows}", "postgresql") is None


def test_seed_rows_for_a_new_table_stay_quiet_and_others_count_as_data_changes():
    quiet = "CREATE TABLE n (id INT);\nINSERT INTO n (id) VALUES (1);\nALTER TABLE old ADD COLUMN c INT;\n"
    assert "mixed_ddl_dml" not in {f.rule for f in analyze_script(quiet, "postgresql")}
    mixed = "INSERT INTO old (id) VALUES (1);\nALTER TABLE old ADD COLUMN c INT;\n"
    assert "mixed_ddl_dml" in {f.rule for f in analyze_script(mixed, "postgresql")}


def test_a_statement_too_large_for_the_parser_is_checked_by_keywords():
    big = "x" * (PARSER_MAX_BYTES + 1)
    findings = analyze_script(f"UPDATE accounts SET note = '{big}';\n", "postgresql")
    by_rule = {f.rule: f for f in findings}
    assert by_rule["update_without_where"].severity == "danger"
    assert "too large for the parser" in by_rule["unparsed"].message
    filtered = analyze_script(f"DELETE FROM t WHERE note = '{big}';\n", "postgresql")
    assert [f.rule for f in filtered] == ["unparsed"]


def _where_follows_reference(up: list[str], i: int) -> bool:
    """The former scan from each DELETE/UPDATE (quadratic), as the oracle."""
    depth = 0
    for word in up[i + 1 :]:
        depth += {"(": 1, ")": -1}.get(word, 0)
        if depth < 0:
            return False
        if depth == 0 and word == "WHERE":
            return True
    return False


def test_one_pass_where_scan_agrees_with_the_former_scan():
    rng = random.Random(7)
    for _ in range(500):
        up = rng.choices(["(", ")", "WHERE", "DELETE", "UPDATE", "X"], k=rng.randint(0, 40))
        starts = [i for i, w in enumerate(up) if w in ("DELETE", "UPDATE")]
        expected = {i for i in starts if _where_follows_reference(up, i)}
        assert _filtered_starts(up, starts) == expected, up


def test_truncate_statement_agrees_with_flattening_everything():
    rng = random.Random(3)
    for _ in range(300):
        text = "".join(rng.choices(["a", "bc", " ", "\n", "\t  "], k=rng.randint(0, 2000)))
        for limit in (40, 200):
            flat = " ".join(text.split())
            expected = flat if len(flat) <= limit else flat[: limit - 1] + "…"
            assert truncate_statement(text, limit) == expected
