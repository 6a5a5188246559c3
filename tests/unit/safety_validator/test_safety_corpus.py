"""The safety corpus: every case declares the rule codes it must produce.

A case is ``tests/safety_corpus/<dialect>/<name>.sql`` whose header comments
say what to expect::

    -- expect: drop_table*2, mixed_ddl_dml     (empty: no finding at all)
    -- server-version: 11.5                    (optional)

Counts matter: ``drop_table*2`` means exactly two drop_table findings.
Precision and recall are computed over all cases together and must be 1.0.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from support import TESTS_DIR

from faber_db.safety_validator import analyze_script
from faber_db.safety_validator.findings import RULES

CORPUS = TESTS_DIR / "safety_corpus"
DIALECTS = ("postgresql", "mysql", "sqlite")


@dataclass(frozen=True)
class Case:
    dialect: str
    name: str
    script: str
    expected: Counter
    server_version: tuple[int, ...] | None


def _expected(value: str) -> Counter:
    counts: Counter = Counter()
    for item in filter(None, (part.strip() for part in value.split(","))):
        code, _, times = item.partition("*")
        counts[code.strip()] += int(times) if times else 1
    return counts


def load_case(path: Path) -> Case:
    script = path.read_text(encoding="utf-8")
    expected, version = None, None
    for line in script.lstrip("\ufeff").splitlines():
        if line.startswith("-- expect:"):
            expected = _expected(line.split(":", 1)[1])
        elif line.startswith("-- server-version:"):
            version = tuple(int(p) for p in line.split(":", 1)[1].strip().split("."))
    assert expected is not None, f"{path} has no '-- expect:' line"
    return Case(path.parent.name, path.stem, script, expected, version)


def all_cases() -> list[Case]:
    return [load_case(p) for d in DIALECTS for p in sorted((CORPUS / d).glob("*.sql"))]


def actual_codes(case: Case) -> Counter:
    findings = analyze_script(case.script, case.dialect, case.name, case.server_version)
    return Counter(f.rule for f in findings)


CASES = all_cases()


def test_corpus_has_enough_cases_per_dialect():
    for dialect in DIALECTS:
        count = sum(1 for c in CASES if c.dialect == dialect)
        assert count >= 40, f"{dialect}: only {count} corpus cases"


def test_corpus_expectations_use_known_rule_codes():
    unknown = {code for case in CASES for code in case.expected if code not in RULES}
    assert not unknown, f"unknown rule codes in corpus: {sorted(unknown)}"


def test_precision_and_recall_are_perfect():
    true_pos = false_pos = false_neg = 0
    misses = []
    for case in CASES:
        actual = actual_codes(case)
        true_pos += sum((actual & case.expected).values())
        extra, missing = actual - case.expected, case.expected - actual
        false_pos += sum(extra.values())
        false_neg += sum(missing.values())
        if extra or missing:
            misses.append(
                f"{case.dialect}/{case.name}: extra={dict(extra)} missing={dict(missing)}"
            )
    precision = true_pos / (true_pos + false_pos) if true_pos + false_pos else 1.0
    recall = true_pos / (true_pos + false_neg) if true_pos + false_neg else 1.0
    summary = (
        f"safety corpus: {len(CASES)} cases, {true_pos} expected findings; "
        f"precision={precision:.3f} recall={recall:.3f}"
    )
    print(summary)
    assert precision == 1.0 and recall == 1.0, summary + "\n" + "\n".join(misses)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.dialect}/{c.name}")
def test_case(case: Case):
    assert actual_codes(case) == case.expected
