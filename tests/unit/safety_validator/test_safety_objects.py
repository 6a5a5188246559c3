"""Dropping views, types, functions, procedures, triggers, sequences and events:
severities, the keyword fallback, dependants from a probe, and rules that meet
a dialect their tables do not name."""

from __future__ import annotations

import pytest
import sqlglot

from faber_db.safety_validator import analyze_script, estimate_impact, evaluate_policy
from faber_db.safety_validator.fallback import analyze_fallback
from faber_db.safety_validator.rules import run_statement_rules
from faber_db.safety_validator.rules.base import RuleContext
from faber_db.safety_validator.rules.objects import OBJECT_RULES


def rules_of(script: str, dialect: str = "postgresql") -> list[tuple[str, str, str | None]]:
    return [(f.rule, f.severity, f.object) for f in analyze_script(script, dialect)]


@pytest.mark.parametrize(
    ("dialect", "script", "expected"),
    [
        ("postgresql", "DROP VIEW v;", [("drop_view", "warning", "v")]),
        ("postgresql", "DROP VIEW s.v CASCADE;", [("drop_view", "danger", "s.v")]),
        (
            "postgresql",
            "DROP MATERIALIZED VIEW mv;",
            [("drop_materialized_view", "warning", "mv")],
        ),
        ("postgresql", 'DROP TYPE "Mood";', [("drop_type", "warning", "Mood")]),
        ("postgresql", "DROP TYPE mood CASCADE;", [("drop_type", "danger", "mood")]),
        ("postgresql", "DROP DOMAIN email;", [("drop_type", "warning", "email")]),
        ("postgresql", "DROP FUNCTION f(int, text);", [("drop_function", "warning", "f")]),
        ("postgresql", "DROP FUNCTION f() CASCADE;", [("drop_function", "danger", "f")]),
        ("postgresql", "DROP PROCEDURE p;", [("drop_procedure", "warning", "p")]),
        ("postgresql", "DROP TRIGGER t ON users;", [("drop_trigger", "warning", "t")]),
        (
            "postgresql",
            "DROP SEQUENCE IF EXISTS a, b CASCADE;",
            [("drop_sequence", "danger", "a"), ("drop_sequence", "danger", "b")],
        ),
        ("mysql", "DROP VIEW IF EXISTS v;", [("drop_view", "warning", "v")]),
        ("mysql", "DROP FUNCTION f;", [("drop_function", "warning", "f")]),
        ("mysql", "DROP PROCEDURE db.p;", [("drop_procedure", "warning", "db.p")]),
        ("mysql", "DROP TRIGGER IF EXISTS t;", [("drop_trigger", "warning", "t")]),
        ("mysql", "DROP EVENT purge;", [("drop_event", "warning", "purge")]),
        ("mysql", "DROP SEQUENCE s;", [("drop_sequence", "warning", "s")]),
        ("sqlite", "DROP VIEW v;", [("drop_view", "warning", "v")]),
        ("sqlite", "DROP TRIGGER IF EXISTS t;", [("drop_trigger", "warning", "t")]),
    ],
)
def test_each_object_drop_is_flagged(dialect, script, expected):
    assert rules_of(script, dialect) == expected


def test_a_function_signature_is_shown_but_not_part_of_the_object():
    (finding,) = analyze_script("DROP FUNCTION app.slugify(text, int);", "postgresql")
    assert finding.object == "app.slugify"
    assert "app.slugify(TEXT, INT)" in finding.message


def test_trigger_on_a_table_created_in_the_same_script_is_quiet():
    script = (
        "CREATE TABLE t (id int);\n"
        "CREATE TRIGGER trg BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION f();\n"
        "DROP TRIGGER trg ON t;\n"
    )
    assert "drop_trigger" not in [rule for rule, _, _ in rules_of(script)]


def test_kinds_an_engine_lacks_are_unparsed_not_silent():
    assert rules_of("DROP EVENT e;", "postgresql") == [("unparsed", "warning", None)]
    assert rules_of("DROP TYPE t;", "sqlite") == [("unparsed", "warning", None)]


@pytest.mark.parametrize(
    ("dialect", "statement", "expected"),
    [
        ("postgresql", "DROP VIEW IF EXISTS a, s.b CASCADE", [("drop_view", "danger", "a")]),
        ("postgresql", "DROP DOMAIN IF EXISTS d RESTRICT", [("drop_type", "warning", "d")]),
        ("postgresql", "DROP ROUTINE r(int)", [("drop_function", "warning", "r")]),
        ("postgresql", "DROP AGGREGATE m(numeric)", [("drop_function", "warning", "m")]),
        ("postgresql", "DROP MATERIALIZED VIEW mv", [("drop_materialized_view", "warning", "mv")]),
        ("postgresql", "DROP TRIGGER IF EXISTS t ON s.x", [("drop_trigger", "warning", "t")]),
        ("mysql", "DROP EVENT IF EXISTS db.e", [("drop_event", "warning", "db.e")]),
        ("mysql", "DROP TRIGGER db.t", [("drop_trigger", "warning", "db.t")]),
        ("sqlite", "DROP VIEW v", [("drop_view", "warning", "v")]),
    ],
)
def test_the_keyword_fallback_reports_the_same_rules(dialect, statement, expected):
    result = analyze_fallback(statement, RuleContext(dialect))
    assert result.understood
    assert [(h.rule, h.severity, h.object) for h in result.hits][: len(expected)] == expected


def test_the_fallback_keeps_the_trigger_table():
    result = analyze_fallback("DROP TRIGGER t ON s.x CASCADE", RuleContext("postgresql"))
    assert [(h.rule, h.severity, h.table) for h in result.hits] == [
        ("drop_trigger", "danger", "s.x")
    ]


def test_every_object_rule_is_a_public_code():
    from faber_db.safety_validator.findings import RULES

    assert set(OBJECT_RULES.values()) <= set(RULES)


# --- dependants through a probe -----------------------------------------------------------


class DependantsProbe:
    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def dependants(self, rule, name, table):
        self.calls.append((rule, name, table))
        return self.answers.get(name)


def test_an_enum_used_by_columns_becomes_danger():
    findings = analyze_script("DROP TYPE mood;", "postgresql")
    estimate_impact(findings, DependantsProbe({"mood": ["column public.people.m", "view v"]}))
    (finding,) = findings
    assert finding.severity == "danger"
    assert finding.impact == {"dependants": ["column public.people.m", "view v"]}
    assert "column public.people.m" in finding.message
    decision = evaluate_policy(findings, {}, "production")
    assert decision.approval == "enhanced" and decision.require_backup


def test_dependants_other_than_columns_keep_the_severity():
    findings = analyze_script("DROP VIEW v; DROP TYPE spare;", "postgresql")
    estimate_impact(findings, DependantsProbe({"v": ["view w"], "spare": []}))
    assert [(f.rule, f.severity, f.impact) for f in findings] == [
        ("drop_view", "warning", {"dependants": ["view w"]}),
        ("drop_type", "warning", {"dependants": []}),
    ]
    assert "view w" in findings[0].message


def test_many_dependants_are_summarised_in_the_message():
    findings = analyze_script("DROP VIEW v;", "postgresql")
    estimate_impact(findings, DependantsProbe({"v": [f"view w{i}" for i in range(8)]}))
    assert findings[0].message.endswith("view w4 and 3 more)")
    assert len(findings[0].impact["dependants"]) == 8


def test_without_a_probe_answer_the_finding_is_unchanged():
    class RowsOnlyProbe:  # an older probe: no dependants method
        def row_count(self, table):
            return 1

    findings = analyze_script("DROP TYPE mood; DROP TRIGGER t ON x;", "postgresql")
    before = [(f.severity, f.message) for f in findings]
    estimate_impact(findings, RowsOnlyProbe())
    assert [(f.severity, f.message) for f in findings] == before
    assert all(f.impact is None for f in findings)


# --- dialect tables -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "ALTER TABLE t ADD COLUMN c INT NOT NULL",
        "ALTER TABLE t ADD CONSTRAINT u UNIQUE (a)",
        "ALTER TABLE t ADD COLUMN c INT UNIQUE",
        "ALTER TABLE t ADD PRIMARY KEY (a)",
        "ALTER TABLE t ADD FOREIGN KEY (a) REFERENCES o (id)",
        "DROP VIEW v CASCADE",
        "DROP TABLE t",
    ],
)
def test_rules_fall_back_to_a_generic_text_for_an_unknown_dialect(statement):
    hits = run_statement_rules(sqlglot.parse_one(statement), RuleContext("oracle"))
    assert hits and all(hit.message for hit in hits)


def test_the_parser_accepts_an_unknown_dialect_and_the_entry_point_names_it():
    from faber_db.safety_validator.parsing import parse_statement

    assert parse_statement("DROP VIEW v", "oracle") is not None
    with pytest.raises(ValueError, match="unknown SQL dialect 'oracle'"):
        analyze_script("DROP VIEW v;", "oracle")


def test_columns_moved_off_the_type_earlier_do_not_make_it_danger():
    script = (
        'ALTER TABLE people ALTER COLUMN m TYPE text;\nALTER TABLE "Old" DROP COLUMN "Role";\n'
        "DROP TYPE mood;\n"
    )
    findings = analyze_script(script, "postgresql")
    moved = ["column people.m", 'column public."Old"."Role"']
    estimate_impact(findings, DependantsProbe({"mood": moved}))
    drop = next(f for f in findings if f.rule == "drop_type")
    assert drop.severity == "warning" and drop.impact == {"dependants": moved}
    estimate_impact(findings, DependantsProbe({"mood": [*moved, "column other.m"]}))
    assert drop.severity == "danger"
