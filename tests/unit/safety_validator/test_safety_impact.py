"""faber_db.safety_validator.impact with a fake probe (no database needed)."""

from __future__ import annotations

from collections import Counter

from faber_db.safety_validator import analyze_script
from faber_db.safety_validator.findings import Finding
from faber_db.safety_validator.impact import LARGE_TABLE_BYTES, LARGE_TABLE_ROWS, estimate_impact
from faber_db.safety_validator.policy import evaluate_policy


class FakeProbe:
    """Answers from dicts and counts every question."""

    def __init__(self, rows=None, nulls=None, sizes=None, duplicates=None):
        self.rows = rows or {}
        self.nulls = nulls or {}
        self.sizes = sizes or {}
        self.duplicates = duplicates or {}
        self.calls: Counter = Counter()

    def row_count(self, table):
        self.calls["row_count", table] += 1
        return self.rows.get(table)

    def null_count(self, table, column):
        self.calls["null_count", table, column] += 1
        return self.nulls.get((table, column))

    def table_size_bytes(self, table):
        self.calls["table_size_bytes", table] += 1
        return self.sizes.get(table)

    def duplicate_count(self, table, columns):
        self.calls["duplicate_count", table, tuple(columns)] += 1
        return self.duplicates.get((table, tuple(columns)))


def impacts(script: str, probe: FakeProbe, dialect: str = "postgresql") -> dict[str, dict | None]:
    findings = analyze_script(script, dialect)
    estimate_impact(findings, probe)
    return {f.rule: f.impact for f in findings}


def test_row_counts_for_data_loss_rules():
    probe = FakeProbe(rows={"a": 10, "b": 20, "c": 30, "d": 40, "e": 50})
    script = (
        "DROP TABLE a; TRUNCATE b; DELETE FROM c; UPDATE d SET x = 1;"
        "ALTER TABLE e DROP COLUMN f; ALTER TABLE e ADD COLUMN g int NOT NULL;"
    )
    assert impacts(script, probe) == {
        "drop_table": {"rows": 10},
        "truncate": {"rows": 20},
        "delete_without_where": {"rows": 30},
        "update_without_where": {"rows": 40},
        "drop_column": {"rows": 50},
        "add_not_null_without_default": {"rows": 50},
        "mixed_ddl_dml": None,
    }


def test_set_not_null_measures_rows_and_nulls():
    probe = FakeProbe(rows={"users": 100}, nulls={("users", "email"): 3})
    result = impacts("ALTER TABLE users ALTER COLUMN email SET NOT NULL;", probe)
    assert result == {"set_not_null": {"rows": 100, "nulls": 3}}


def test_mysql_change_measures_the_current_column_name():
    probe = FakeProbe(rows={"t": 5}, nulls={("t", "old"): 0})
    findings = analyze_script("ALTER TABLE `t` CHANGE `old` `new` INT NOT NULL;", "mysql")
    estimate_impact(findings, probe)
    assert [f.impact for f in findings if f.rule == "set_not_null"] == [{"rows": 5, "nulls": 0}]


def test_unique_and_primary_keys_measure_duplicates():
    probe = FakeProbe(
        rows={"users": 9},
        duplicates={("users", ("email",)): 2, ("users", ("tenant", "slug")): 0},
    )
    script = (
        "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);"
        "CREATE UNIQUE INDEX CONCURRENTLY slug_idx ON users (tenant, slug);"
        "ALTER TABLE users ADD PRIMARY KEY (email);"
    )
    assert impacts(script, probe) == {
        "add_unique_constraint": {"rows": 9, "duplicates": 2},
        "create_unique_index": {"rows": 9, "duplicates": 0},
        "add_primary_key": {"rows": 9, "duplicates": 2},
        "non_transactional": None,
    }


def test_small_table_index_stays_a_warning():
    probe = FakeProbe(rows={"t": 10}, sizes={"t": 8192})
    findings = analyze_script("CREATE INDEX i ON t (a);", "postgresql")
    estimate_impact(findings, probe)
    assert findings[0].impact == {"rows": 10, "table_bytes": 8192}
    assert findings[0].severity == "warning"


def test_large_table_index_becomes_danger_by_rows_or_bytes():
    probe = FakeProbe(
        rows={"big": LARGE_TABLE_ROWS + 1, "fat": 10}, sizes={"fat": LARGE_TABLE_BYTES + 1}
    )
    findings = analyze_script("CREATE INDEX i ON big (a); CREATE INDEX j ON fat (a);", "postgresql")
    estimate_impact(findings, probe)
    assert [f.severity for f in findings] == ["danger", "danger"]
    assert "big holds 100,001 rows" in findings[0].message


def test_each_question_is_asked_once():
    probe = FakeProbe(rows={"users": 1})
    script = "ALTER TABLE users DROP COLUMN a; ALTER TABLE users DROP COLUMN b; DROP TABLE users;"
    impacts(script, probe)
    assert probe.calls["row_count", "users"] == 1


def test_unknown_answers_leave_impact_empty():
    probe = FakeProbe()
    findings = analyze_script("DROP TABLE users;", "postgresql")
    estimate_impact(findings, probe)
    assert findings[0].impact is None


def test_findings_without_a_table_or_measure_are_not_probed():
    probe = FakeProbe(rows={"users": 1})
    findings = analyze_script(
        "DROP DATABASE legacy; ALTER TABLE users RENAME COLUMN a TO b; BEGIN;", "postgresql"
    )
    estimate_impact(findings, probe)
    assert all(f.impact is None for f in findings)
    assert not probe.calls


def test_qualified_table_names_reach_the_probe():
    probe = FakeProbe(rows={"public.users": 7})
    assert impacts('TRUNCATE public."users";', probe) == {"truncate": {"rows": 7}}


def test_hand_made_finding():
    finding = Finding("drop_table", "danger", "m", None, 0, 1, "t", "DROP TABLE t", table="t")
    estimate_impact([finding], FakeProbe(rows={"t": 0}))
    assert finding.impact == {"rows": 0}
    assert finding.to_dict()["impact"] == {"rows": 0}


def test_impact_feeds_the_policy_row_threshold():
    safety = {
        "destructive_operations": {"truncate": {"approval": "enhanced", "row_threshold": 1000}}
    }
    findings = analyze_script("TRUNCATE logs;", "postgresql")
    estimate_impact(findings, FakeProbe(rows={"logs": 999}))
    assert evaluate_policy(findings, safety, "production").approval == "none"
    estimate_impact(findings, FakeProbe(rows={"logs": 1000}))
    assert evaluate_policy(findings, safety, "production").approval == "enhanced"
