"""Which event a Result is, and what is POSTed (pure; delivery is tested against a
real HTTP server in tests/integration/cli/test_notification_webhooks.py)."""

import json

import pytest

from faber_db.exit_codes import ExitStatus
from faber_db.notifications import EVENTS, Webhook, payload, result_event, slack_text
from faber_db.result import Result


def error(operation: str, code: str) -> Result:
    return Result(
        operation, "error", "production", {}, "it failed", error={"code": code, "message": "x"}
    )


@pytest.mark.parametrize(
    ("result", "protected", "event"),
    [
        (error("backup", "connection_failed"), False, "backup_failed"),
        (error("backup", "remote_copy_missing"), False, "backup_remote_failed"),
        (error("backup", "remote_failed"), False, "backup_remote_failed"),
        (error("migrate", "migration_failed"), True, "migrate_failed"),
        (error("health", "health_failed"), True, "health_failed"),
        (error("drift", "drift_found"), False, "drift_found"),
        (
            Result(
                "drift", "success", "staging", {"drift": True}, exit_status=ExitStatus.DRIFT_FOUND
            ),
            False,
            "drift_found",
        ),
        (Result("drift", "success", "staging", {"drift": False}), False, None),
        (Result("migrate", "approval_required", "production"), True, "approval_required"),
        (Result("backups-delete", "approval_required", "dev"), False, "approval_required"),
        (
            Result("migrate", "success", "production", {"migrations_applied": ["a"]}),
            True,
            "migrate_done",
        ),
        (Result("migrate", "success", "dev", {"migrations_applied": ["a"]}), False, None),
        (Result("migrate", "success", "production", {"migrations_applied": []}), True, None),
        (Result("rollback", "success", "production"), True, "rollback_done"),
        (Result("restore", "success", "dev"), False, "restore_done"),
        (Result("backup", "success", "dev"), False, None),
        (Result("migrate", "dry_run", "production"), True, None),
        (error("restore", "restore_failed"), True, None),
    ],
)
def test_result_events(result, protected, event):
    assert result_event(result, protected) == event
    assert event is None or event in EVENTS


@pytest.fixture(autouse=True)
def no_secrets_from_other_tests(monkeypatch):
    """Passwords other tests in this process registered would be masked too."""
    monkeypatch.setattr("faber_db.urls.known_secrets", lambda: [])


def test_slack_text_is_redacted_and_names_the_plan():
    result = Result(
        "migrate",
        "approval_required",
        "production",
        {"plan_id": "plan-1234"},
        "Needs approval (postgresql://app:hunter2@db:5432/app)",
    )
    text = slack_text("approval_required", result, "shop")
    assert text.startswith("faber-db shop: approval required on production (plan plan-1234): ")
    assert "hunter2" not in text and "app:***@db" in text


def test_json_payload_carries_the_full_redacted_result():
    result = error("backup", "auth_failed")
    result.message = "auth failed for mysql://root:s3cret@127.0.0.1/app"
    body = json.loads(
        payload(Webhook("X", frozenset({"backup_failed"}), "json"), "backup_failed", result, "shop")
    )
    assert set(body) == {"event", "project", "sent_at", "result"}
    assert body["result"]["error"]["code"] == "auth_failed"
    assert "s3cret" not in json.dumps(body)
