"""faber_db.safety_validator.policy: findings weighed against the safety config."""

from __future__ import annotations

import json

import pytest

from faber_db.safety_validator.findings import Finding
from faber_db.safety_validator.policy import DEFAULT_BLOCK_REASON, evaluate_policy

SAFETY = {
    "protected_environments": ["production", "staging"],
    "require_approval_for": ["migrate", "rollback", "seed"],
    "backup_enforcement": {"production": "required", "staging": "recommended", "dev": "optional"},
    "destructive_operations": {
        "drop_table": {"allowed": True, "approval": "enhanced", "require_backup": True},
        "drop_database": {"allowed": False, "block_reason": "Never allowed via automation"},
        "truncate": {"allowed": True, "approval": "enhanced", "row_threshold": 1000},
    },
}


def finding(
    rule: str, severity: str, obj: str | None = "users", rows: int | None = None
) -> Finding:
    impact = {"rows": rows} if rows is not None else None
    return Finding(rule, severity, f"{rule} on {obj}", "20240101_x", 0, 1, obj, "SQL", impact, obj)


def test_configured_block_reason_applies_everywhere():
    drop_db = finding("drop_database", "blocked", "legacy")
    for environment in ("production", "dev"):
        decision = evaluate_policy([drop_db], SAFETY, environment)
        assert decision.blocked == [(drop_db, "Never allowed via automation")]
        assert not decision.allowed


@pytest.mark.parametrize("rule", ["drop_database", "drop_schema"])
def test_database_and_schema_drops_are_blocked_by_default(rule):
    decision = evaluate_policy([finding(rule, "blocked", "analytics")], {}, "dev")
    assert decision.blocked[0][1] == DEFAULT_BLOCK_REASON
    assert decision.approval == "none"


def test_a_blocked_rule_can_be_allowed_and_then_needs_enhanced_approval():
    safety = {"destructive_operations": {"drop_schema": {"allowed": True}}}
    decision = evaluate_policy(
        [finding("drop_schema", "blocked", "analytics")], safety, "production"
    )
    assert decision.allowed
    assert decision.approval == "enhanced"
    assert decision.enhanced_objects == ["analytics"]


def test_allowed_false_blocks_any_rule():
    safety = {"destructive_operations": {"truncate": {"allowed": False}}}
    decision = evaluate_policy([finding("truncate", "danger", "logs")], safety, "dev")
    assert decision.blocked[0][1] == "truncate is not allowed by the safety policy"


def test_danger_needs_enhanced_approval_and_a_backup_on_protected_environments():
    decision = evaluate_policy([finding("drop_column", "danger", "users.email")], SAFETY, "staging")
    assert decision.protected
    assert decision.approval == "enhanced"
    assert decision.enhanced_objects == ["users.email"]
    assert decision.require_backup


def test_nothing_needs_approval_on_an_unprotected_environment():
    findings = [finding("drop_table", "danger"), finding("rename_table", "warning")]
    decision = evaluate_policy(findings, SAFETY, "dev")
    assert decision.allowed
    assert decision.approval == "none"
    assert decision.enhanced_objects == []
    # drop_table's explicit require_backup holds on every environment...
    assert decision.require_backup


def test_dangerous_changes_need_a_backup_by_default_only_where_protected():
    # ...while the default (danger needs a backup) applies to protected ones only.
    dev = evaluate_policy([finding("drop_column", "danger", "users.email")], SAFETY, "dev")
    assert not dev.require_backup
    staging = evaluate_policy([finding("drop_column", "danger", "users.email")], SAFETY, "staging")
    assert staging.require_backup


def test_the_caller_can_say_the_environment_is_protected():
    decision = evaluate_policy([finding("rename_table", "warning")], SAFETY, "qa", protected=True)
    assert decision.protected and decision.approval == "standard"


@pytest.mark.parametrize(
    "severity,expected", [("info", "none"), ("warning", "standard"), ("danger", "enhanced")]
)
def test_default_approval_follows_severity(severity, expected):
    decision = evaluate_policy([finding("some_rule", severity)], {}, "production")
    assert decision.approval == expected


def test_configured_approval_overrides_the_severity_default():
    safety = {"destructive_operations": {"drop_column": {"approval": "standard"}}}
    decision = evaluate_policy(
        [finding("drop_column", "danger", "users.email")], safety, "production"
    )
    assert decision.approval == "standard"
    assert decision.enhanced_objects == []


def test_highest_approval_wins_and_objects_are_listed_once():
    findings = [
        finding("rename_column", "warning", "users.name"),
        finding("drop_table", "danger", "users"),
        finding("truncate", "danger", "users", rows=5000),
        finding("delete_without_where", "danger", None),
    ]
    decision = evaluate_policy(findings, SAFETY, "production")
    assert decision.approval == "enhanced"
    assert decision.enhanced_objects == ["users", "delete_without_where"]


def test_row_threshold_below_needs_no_approval():
    decision = evaluate_policy(
        [finding("truncate", "danger", "logs", rows=12)], SAFETY, "production"
    )
    assert decision.approval == "none"
    assert any("below the approval threshold of 1000" in w for w in decision.warnings)


@pytest.mark.parametrize("rows", [1000, 250_000, None])
def test_row_threshold_reached_or_unknown_needs_the_rule_approval(rows):
    decision = evaluate_policy(
        [finding("truncate", "danger", "logs", rows=rows)], SAFETY, "production"
    )
    assert decision.approval == "enhanced"
    assert decision.enhanced_objects == ["logs"]


def test_backup_enforcement_required_even_without_findings():
    assert evaluate_policy([], SAFETY, "production").require_backup
    assert not evaluate_policy([], SAFETY, "staging").require_backup
    assert evaluate_policy([], {}, "production").require_backup
    assert not evaluate_policy([], {}, "dev").require_backup


def test_recommended_backup_on_staging():
    warning_only = evaluate_policy([finding("rename_table", "warning")], SAFETY, "staging")
    assert not warning_only.require_backup
    assert warning_only.warnings == []
    safety = {**SAFETY, "destructive_operations": {"drop_column": {"require_backup": False}}}
    danger = evaluate_policy([finding("drop_column", "danger", "users.a")], safety, "staging")
    assert not danger.require_backup
    assert danger.warnings == ["a backup is recommended on staging before this migration"]


def test_rule_require_backup_turns_a_recommendation_into_a_requirement():
    decision = evaluate_policy([finding("drop_table", "danger")], SAFETY, "staging")
    assert decision.require_backup


def test_custom_protected_environments():
    safety = {"protected_environments": ["prod-eu"]}
    assert (
        evaluate_policy([finding("drop_table", "danger")], safety, "prod-eu").approval == "enhanced"
    )
    assert (
        evaluate_policy([finding("drop_table", "danger")], safety, "production").approval == "none"
    )


def test_config_mistakes_become_warnings():
    safety = {
        "destructive_operations": {
            "drop_tabel": {"allowed": False},
            "drop_column": {"approval": "super"},
        }
    }
    decision = evaluate_policy([finding("drop_column", "danger", "t.c")], safety, "production")
    assert decision.approval == "enhanced"
    assert (
        "safety.destructive_operations.drop_tabel is not a known rule and has no effect"
        in decision.warnings
    )
    assert "drop_column: unknown approval 'super', using 'enhanced'" in decision.warnings


def test_missing_safety_section():
    decision = evaluate_policy([finding("drop_table", "danger")], None, "production")
    assert decision.approval == "enhanced"


def test_to_dict_is_json_ready():
    decision = evaluate_policy(
        [finding("drop_database", "blocked", "legacy"), finding("drop_table", "danger")],
        SAFETY,
        "production",
    )
    data = json.loads(json.dumps(decision.to_dict()))
    assert data["allowed"] is False
    assert data["blocked"][0]["reason"] == "Never allowed via automation"
    assert data["blocked"][0]["finding"]["rule"] == "drop_database"
    assert data["approval"] == "enhanced"
    assert data["enhanced_objects"] == ["users"]


def test_with_real_findings():
    from faber_db.safety_validator import analyze_script

    script = "DROP TABLE users;\nDROP DATABASE legacy;\nCREATE INDEX i ON orders (created_at);"
    decision = evaluate_policy(analyze_script(script, "postgresql"), SAFETY, "production")
    assert [(f.rule, reason) for f, reason in decision.blocked] == [
        ("drop_database", "Never allowed via automation")
    ]
    assert decision.approval == "enhanced"
    assert decision.enhanced_objects == ["users"]
    assert decision.require_backup
