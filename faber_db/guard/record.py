"""Audit-trail lines written by the guard, through faber_db.audit.record:
`guard-approval` when a protected `--approve` ran after the person confirmed it
in Claude Code's permission prompt (PostToolUse), `guard-denied` when the guard
refused a call that touched a faber-db project (PreToolUse)."""

from __future__ import annotations

from faber_db.guard.decision import Decision
from faber_db.guard.project import Project

SESSION_LIMIT = 100


def record_approval(
    project: Project, args: list[str], env: str, plan_id: str, payload: dict
) -> None:
    """The person allowed `faber-db ... --approve plan_id` in Claude Code and it ran."""
    from faber_db.result import Result

    session = str(payload.get("session_id") or "?")[:SESSION_LIMIT]
    mode = str(payload.get("permission_mode") or "?")[:40]
    result = Result(
        operation="guard-approval",
        status="success",
        environment=env,
        result={"plan_id": plan_id},
        message=(
            f"plan {plan_id} approved by a person in Claude Code's permission prompt "
            f"(session {session}, permission mode {mode})"
        ),
    )
    _write(project, result, args)


def record_denial(project: Project, decision: Decision, payload: dict) -> None:
    """The guard refused a tool call (the reason is what the model was told)."""
    from faber_db.result import Result

    session = str(payload.get("session_id") or "?")[:SESSION_LIMIT]
    tool = str(payload.get("tool_name") or "?")[:40]
    result = Result(
        operation="guard-denied",
        status="error",
        environment=decision.environment,
        result={"plan_id": decision.plan_id} if decision.plan_id else {},
        message=f"{tool} call refused by the Claude Code guard (session {session}): {decision.reason}",
        error={"code": "guard_denied", "message": decision.reason[:500]},
    )
    _write(project, result, ["(guard)", tool])


def _write(project: Project, result, args: list[str]) -> None:
    from faber_db.audit import record

    record(project.audit_path, result, args, 0.0)
