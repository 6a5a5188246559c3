"""A guard decision and the JSON Claude Code reads from a PreToolUse hook."""

from __future__ import annotations

RANK = {"ask": 1, "deny": 2}
REASON_LIMIT = 4000


class Decision:
    """ask or deny, with the reason shown to the person (ask) or the model (deny).

    Plain classes rather than dataclasses throughout the guard: importing
    dataclasses (inspect, ast) costs about 7 ms of the hook's start-up budget."""

    def __init__(
        self, kind: str, reason: str, environment: str | None = None, plan_id: str | None = None
    ) -> None:
        self.kind = kind
        self.reason = reason
        self.environment = environment
        self.plan_id = plan_id

    def __repr__(self) -> str:
        return f"Decision({self.kind!r}, {self.reason[:60]!r})"


def strongest(decisions: list[Decision]) -> Decision | None:
    """deny beats ask; among equals the first one found (None when there are none)."""
    best: Decision | None = None
    for decision in decisions:
        if best is None or RANK[decision.kind] > RANK[best.kind]:
            best = decision
    asks = [d for d in decisions if d.kind == "ask"]
    if best is not None and best.kind == "ask" and len(asks) > 1:
        # Several approvals in one call: the person sees every one of them.
        reason = "\n\n".join(d.reason for d in asks)
        return Decision("ask", f"This call asks {len(asks)} things:\n\n{reason}", best.environment)
    return best


def hook_output(decision: Decision | None) -> dict | None:
    """The PreToolUse hook's JSON for a decision (None: no decision, print nothing)."""
    if decision is None:
        return None
    reason = decision.reason
    if len(reason) > REASON_LIMIT:
        reason = reason[: REASON_LIMIT - 20] + "\n... (shortened)"
    return {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": decision.kind,
            "permissionDecisionReason": reason,
        }
    }
