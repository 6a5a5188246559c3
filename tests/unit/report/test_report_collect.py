"""The report's data gathering, on files alone: which environments a report covers,
which audit lines are restore/rollback events, the findings of a kept plan, and
health/drift files of the wrong shape."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from faber_db.audit import verify_chain
from faber_db.errors import InvalidInputError, UnknownEnvironmentError
from faber_db.report.collect import (
    environment_names,
    event_of,
    migrations_from_audit,
    plan_findings,
    state_file,
)

PLAN_ID = "plan-0123456789abcdef"


def test_environments_come_from_config_catalogue_and_trail_and_names_are_checked():
    config = SimpleNamespace(environments={"production": {}})
    entries = [SimpleNamespace(environment="old-staging"), SimpleNamespace(environment="../x")]
    audit = [{"environment": "qa"}, {"environment": None}, {"environment": "a/../../b"}, {}]
    audit.append({"environment": ["qa"]})  # a line of another shape (the chain is rehashable)
    assert environment_names(config, None, entries, audit) == ["old-staging", "production", "qa"]
    assert environment_names(config, "qa", entries, audit) == ["qa"]
    with pytest.raises(UnknownEnvironmentError):
        environment_names(config, "nowhere", entries, audit)
    with pytest.raises(InvalidInputError):
        environment_names(config, "../x", entries, audit)


def test_only_outcomes_of_restores_and_rollbacks_are_events():
    base = {"time": "2026-12-01T10:00:00Z", "user": "dana", "operation": "rollback"}
    assert event_of({**base, "result": "approved"}) is None
    assert event_of({**base, "result": "approval_required"}) is None
    assert event_of({**base, "operation": "backup", "result": "success"}) is None
    assert event_of({**base, "result": "success", "time": "not a time"}) is None
    failed = event_of({**base, "result": "error", "error_code": "restore_failed"})
    assert failed.result == "error" and failed.error_code == "restore_failed"
    claimed = event_of(
        {
            **base,
            "result": "success",
            "agent_claimed": "claude-code",
            "migrations_rolled_back": ["m2"],
        }
    )
    assert claimed.user == "dana via claude-code (claimed)" and claimed.migrations_rolled_back == [
        "m2"
    ]


def test_findings_of_a_kept_plan(tmp_path):
    assert plan_findings(tmp_path, None) == ([], None)
    assert plan_findings(tmp_path, "../../etc/passwd") == ([], None)  # never a path
    assert plan_findings(tmp_path, PLAN_ID) == ([], False)  # no longer kept
    finding = {"rule": "drop_column", "severity": "danger", "object": "a.b", "message": "m"}
    plan = {"plan": {"display": {"safety": {"findings": [{**finding, "migration": "m1"}, 7]}}}}
    (tmp_path / "plans").mkdir()
    (tmp_path / "plans" / f"{PLAN_ID}.json").write_text(json.dumps(plan))
    [(found, migration)], kept = plan_findings(tmp_path, PLAN_ID)
    assert kept is True and migration == "m1" and found.rule == "drop_column"


def test_state_files_of_the_wrong_shape_are_a_note(tmp_path):
    assert state_file(tmp_path, "health", "production") is None
    (tmp_path / "health").mkdir()
    (tmp_path / "health" / "production.json").write_text("[1, 2]")
    assert state_file(tmp_path, "health", "production").problem
    (tmp_path / "health" / "production.json").write_text(
        json.dumps({"status": "ok", "checks": ["text", {"name": "c"}], "differences": 3})
    )
    data = state_file(tmp_path, "health", "production").data
    assert data["checks"] == [{"name": "c"}] and data["differences"] == []


def test_a_trail_with_bytes_that_are_not_utf8_is_broken_not_a_traceback(tmp_path):
    trail = tmp_path / "audit.jsonl"
    trail.write_bytes(b"\xff\xfe garbage\n")
    report = verify_chain(trail)  # `faber-db audit --verify` and the report read it so
    assert report.ok is False and report.first_broken_line == 1


def test_audit_lines_of_another_shape_show_nothing_rather_than_fail(tmp_path):
    odd = {"operation": "migrate", "result": "success", "time": "2026-12-01T10:00:00Z"}
    lines = [
        {**odd, "result": "approved", "plan_id": ["x"]},
        {**odd, "plan_id": {"a": 1}, "migrations_applied": "m1", "user": 7},
        {**odd, "plan_id": PLAN_ID, "migrations_applied": ["m1", 3]},
    ]
    records = migrations_from_audit(tmp_path, lines)
    assert [(r.name, r.plan_id, r.approved) for r in records] == [("m1", PLAN_ID, False)]
    event = event_of({**odd, "operation": "restore", "migrations_rolled_back": "m1"})
    assert event.migrations_rolled_back == []
