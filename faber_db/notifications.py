"""Webhook notifications (`notifications.webhooks`): which events a Result is, and
sending them.

Called once per command from the CLI edge (cli/__init__.py), after the Result is
known. A notification never changes the command's outcome: every webhook is POSTed
in parallel with one shared deadline (`notifications.timeout_seconds`, default 5 s,
one retry inside it), and whatever goes wrong is returned as a warning naming the
webhook's variable, never its URL (a webhook URL is a secret).
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from faber_db import __version__
from faber_db.result import Result
from faber_db.timeutil import format_utc, utcnow
from faber_db.urls import redact_text

EVENTS = (
    "backup_failed",
    "backup_remote_failed",
    "migrate_failed",
    "migrate_done",
    "approval_required",
    "rollback_done",
    "restore_done",
    "health_failed",
    "drift_found",
)
# Error codes that are an event whatever the command (other commands raise them).
EVENT_BY_ERROR_CODE = {
    "health_failed": "health_failed",
    "drift_found": "drift_found",
    "remote_copy_missing": "backup_remote_failed",
    "remote_failed": "backup_remote_failed",
}
# Partial successes (a success status with their own exit status) that are an event.
EVENT_BY_EXIT_STATUS = {"DRIFT_FOUND": "drift_found", "REMOTE_COPY_MISSING": "backup_remote_failed"}
# (operation, status) -> event.
EVENT_BY_OUTCOME = {
    ("backup", "error"): "backup_failed",
    ("migrate", "error"): "migrate_failed",
    ("rollback", "success"): "rollback_done",
    ("restore", "success"): "restore_done",
}
DEFAULT_TIMEOUT_SECONDS = 5.0
RETRY_PAUSE_SECONDS = 0.2


@dataclass(frozen=True)
class Webhook:
    """One configured webhook: the variable holding its URL, its events, its format."""

    url_env: str
    events: frozenset[str]
    format: str = "slack"


def result_event(result: Result, protected: bool) -> str | None:
    """The event `result` is (None: nothing to tell). `protected`: whether its
    environment is protected (a migrate_done is only sent for those)."""
    code = (result.error or {}).get("code")
    if result.result.get("notify") is False:  # a failure streak already reported
        return None
    if result.status == "error" and code in EVENT_BY_ERROR_CODE:
        return EVENT_BY_ERROR_CODE[code]
    if result.status == "approval_required":
        return "approval_required"
    exit_status = getattr(result.exit_status, "name", None)
    if result.status == "success" and exit_status in EVENT_BY_EXIT_STATUS:
        return EVENT_BY_EXIT_STATUS[exit_status]
    if result.operation == "migrate" and result.status == "success":
        applied = result.result.get("migrations_applied") or []
        return "migrate_done" if protected and applied else None
    return EVENT_BY_OUTCOME.get((result.operation, result.status))


def configured_webhooks(section: dict) -> list[Webhook]:
    """The webhooks of a `notifications` section (validated by the config schema)."""
    return [
        Webhook(item["url_env"], frozenset(item["events"]), item.get("format", "slack"))
        for item in section.get("webhooks") or []
    ]


def slack_text(event: str, result: Result, project: str) -> str:
    """The short line a person reads in a chat channel."""
    where = f" on {result.environment}" if result.environment else ""
    code = (result.error or {}).get("code")
    detail = f" [{code}]" if code else ""
    plan_id = result.result.get("plan_id")
    plan = f" (plan {plan_id})" if event == "approval_required" and plan_id else ""
    return redact_text(
        f"faber-db {project}: {event.replace('_', ' ')}{where}{detail}{plan}: {result.message}"
    )[:3000]


def payload(webhook: Webhook, event: str, result: Result, project: str) -> bytes:
    """The JSON body POSTed to `webhook`."""
    if webhook.format == "slack":
        body: dict = {"text": slack_text(event, result, project)}
    else:
        body = {
            "event": event,
            "project": project,
            "sent_at": format_utc(utcnow()),
            "result": _redacted(result.to_dict()),
        }
    return json.dumps(body).encode()


def _redacted(value):
    """`value` (JSON data) with every string passed through redact_text."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {key: _redacted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_redacted(item) for item in value]
    return value


def notify(section: dict, result: Result, protected: bool, project: str) -> list[str]:
    """Send `result`'s event to every webhook that wants it; returns one warning per
    webhook that could not be told (never raises for a webhook's failure)."""
    event = result_event(result, protected)
    if event is None:
        return []
    targets = [w for w in configured_webhooks(section) if event in w.events]
    if not targets:
        return []
    budget = float(section.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS))
    deadline = time.monotonic() + budget
    outcomes: dict[int, str | None] = {}
    threads = []
    for index, webhook in enumerate(targets):
        thread = threading.Thread(
            target=_deliver,
            args=(webhook, payload(webhook, event, result, project), deadline, outcomes, index),
            daemon=True,  # one still hanging at the deadline is abandoned with the process
        )
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return [
        f"notification {event} to ${webhook.url_env} failed: "
        + (outcomes.get(index) or f"no answer within {budget:g}s")
        + " (the command's outcome is unaffected)"
        for index, webhook in enumerate(targets)
        if outcomes.get(index, "timeout") is not None
    ]


def _deliver(webhook: Webhook, body: bytes, deadline: float, outcomes: dict, index: int) -> None:
    """POST `body`, retrying once while time remains; outcomes[index] = None on
    success, else why it failed (with the URL masked)."""
    url = os.environ.get(webhook.url_env, "").strip()
    if not url:
        outcomes[index] = f"${webhook.url_env} is not set"
        return
    if not url.lower().startswith(("http://", "https://")):
        outcomes[index] = f"${webhook.url_env} is not an http(s) URL"
        return
    problem = None
    for attempt in range(2):
        remaining = deadline - time.monotonic()
        if remaining <= 0.05:
            break
        problem = _post(url, body, remaining)
        if problem is None:
            break
        if attempt == 0:
            time.sleep(min(RETRY_PAUSE_SECONDS, max(0.0, deadline - time.monotonic())))
    outcomes[index] = redact_text(problem, [url]) if problem else None


def _post(url: str, body: bytes, timeout: float) -> str | None:
    """One POST; None when the server answered 2xx, else what went wrong."""
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": f"faber-db/{__version__}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (http(s) only)
            response.read(65536)
            return None
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"
    except urllib.error.URLError as exc:
        reason = exc.reason
        return "timed out" if isinstance(reason, TimeoutError) else str(reason)
    except (TimeoutError, OSError, ValueError) as exc:
        return "timed out" if isinstance(exc, TimeoutError) else str(exc) or type(exc).__name__
