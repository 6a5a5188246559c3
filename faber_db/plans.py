"""Plan-bound approvals: a mutating command describes exactly what it will do
as a plan, hashes it into a plan_id, and proceeds on a protected environment
only with `--approve <plan_id>` matching the current plan or a person's typed
confirmation at a terminal. `--yes` alone never approves a protected run.

An environment that was protected at the last audited command (or that the
project's own config protects while another config is in force) stays gated
until a person approves a command under the weakened policy; the approval text
names every policy change since the last audited command. An approved gated
command writes its audit line before it changes anything, and stops if it cannot.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from faber_db.approval import Approval
from faber_db.audit_policy import PolicyDrift, policy_drift, record_approval
from faber_db.config import Config
from faber_db.result import Result

# Always gated on protected environments, whatever require_approval_for says.
ALWAYS_GATED = ("migrate", "rollback", "restore", "resolve")
DEFAULT_GATED = ("migrate", "rollback", "restore", "backups-delete", "backups-prune", "resolve")
CONFIRMED_AT_TERMINAL = ("rollback", "restore")
# What plan_id() produces; anything else never reaches a path.
PLAN_ID_RE = re.compile(r"^plan-[0-9a-f]{16}$")
PLANS_DIR = "plans"
KEEP_PLANS_DAYS = 30


def plan_id(plan: dict) -> str:
    """Stable hash of a plan: same environment, database and work, same id."""
    body = {k: v for k, v in plan.items() if k not in ("plan_id", "display")}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return "plan-" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def needs_approval(
    config: Config, env: str | None, operation: str, drift: PolicyDrift | None = None
) -> bool:
    """True when `operation` on `env` needs a person's approval (also when a policy
    change stopped protecting an environment that was protected before)."""
    if env is None:
        return False
    if config.is_protected(env):
        gated = config.section("safety").get("require_approval_for", DEFAULT_GATED)
        return operation in ALWAYS_GATED or operation in gated
    if operation not in ALWAYS_GATED + DEFAULT_GATED:
        return False
    return env in (drift or policy_drift(config)).formerly_protected


def approval_gate(
    config: Config,
    env: str | None,
    operation: str,
    plan: dict,
    approval: Approval,
    enhanced_objects: list[str] | None = None,
) -> Result | None:
    """Return None to proceed, or the approval_required Result to hand back.

    Sets plan["plan_id"]. `enhanced_objects` are names the person must also
    type at an interactive prompt (enhanced approval for dangerous changes).
    Policy changes since the last audited command go into plan["display"]["policy_changes"].
    """
    plan["plan_id"] = plan_id(plan)
    drift = policy_drift(config)
    if drift.changes:
        plan.setdefault("display", {})["policy_changes"] = drift.changes
    if not needs_approval(config, env, operation, drift):
        return _confirm_unprotected(env, operation, plan, approval)
    refusal = _protected_gate(config, env, operation, plan, approval, enhanced_objects or [])
    if refusal is not None:
        refusal.warnings += _drift_warnings(config, env, drift)
        return refusal
    record_approval(config, env, operation, plan)
    return None


def _drift_warnings(config: Config, env: str, drift: PolicyDrift) -> list[str]:
    warnings = [f"policy changed since the last audited command: {c}" for c in drift.changes]
    if env in drift.formerly_protected:
        warnings.append(
            f"'{env}' was protected at the last audited command (or by the project's own "
            f"config) but the config in force ({config.display_path()}) no longer protects it: "
            "approve this plan to proceed under the new policy."
        )
    if not config.is_own:
        warnings.append(
            f"the config in force, {config.path}, is not the project's own "
            f"(.fractary/plugins/faber-db/); sha256 {config.sha256}"
        )
    return warnings


def _protected_gate(
    config: Config,
    env: str,
    operation: str,
    plan: dict,
    approval: Approval,
    enhanced_objects: list[str],
) -> Result | None:
    """None when the plan is approved (--approve <plan_id> or typed at a terminal)."""
    if approval.approve is not None:
        if approval.approve == plan["plan_id"]:
            return None
        return approval_required(
            operation,
            env,
            plan,
            f"The approved plan {approval.approve} no longer matches: the current plan is {plan['plan_id']}. "
            "Nothing was changed; review the new plan and approve it.",
        )
    if approval.confirm is not None and _confirmed(
        approval, env, operation, plan, enhanced_objects or []
    ):
        return None
    message = (
        f"{operation} on protected environment '{env}' needs approval of plan {plan['plan_id']}."
    )
    if approval.yes:
        message += " --yes is not enough on a protected environment."
    return approval_required(operation, env, plan, message)


def _confirm_unprotected(
    env: str | None, operation: str, plan: dict, approval: Approval
) -> Result | None:
    """A restore overwrites data even where no approval is required: a person at a
    terminal confirms it (--yes skips that); scripts and agents are not asked."""
    if operation not in CONFIRMED_AT_TERMINAL or approval.yes or approval.confirm is None:
        return None
    if approval.ask(
        operation,
        env,
        plan,
        f"{operation} overwrites the {env} database. Type the environment name",
        env or "",
    ):
        return None
    return approval_required(
        operation, env, plan, f"{operation} on '{env}' was not confirmed; nothing changed."
    )


def _confirmed(
    approval: Approval, env: str, operation: str, plan: dict, objects: list[str]
) -> bool:
    if not approval.ask(
        operation,
        env,
        plan,
        f"{operation} on protected environment '{env}'. Type the environment name",
        env,
    ):
        return False
    return all(approval.confirm(f"This changes '{name}'. Type its name", name) for name in objects)


def approval_required(operation: str, env: str | None, plan: dict, message: str) -> Result:
    """The Result telling the caller what to approve and how."""
    return Result(
        operation=operation,
        status="approval_required",
        environment=env,
        result={"plan": plan, "plan_id": plan["plan_id"]},
        message=message,
        suggestions=[
            "Show this plan to a person; only if they approve it, re-run the same command with "
            f"--approve {plan['plan_id']}",
        ],
    )


def plan_path(state_dir: Path, value: str) -> Path | None:
    """Where a shown plan is kept (state/plans/<plan_id>.json), or None for a value
    that is not a plan id (so no caller's text ever reaches a path unchecked)."""
    if not isinstance(value, str) or not PLAN_ID_RE.match(value):
        return None
    return state_dir / PLANS_DIR / f"{value}.json"


def store_plan(state_dir: Path, result: Result) -> Path | None:
    """Keep the plan of an approval_required Result under the state folder, so the
    Claude Code guard can show a person exactly what they approve without
    connecting to a database. Returns the file written (None when there is no plan)."""
    plan = result.result.get("plan") if result.status == "approval_required" else None
    path = plan_path(state_dir, result.result.get("plan_id", ""))
    if not isinstance(plan, dict) or path is None:
        return None
    from faber_db.fsutil import atomic_write
    from faber_db.timeutil import format_utc, utcnow

    record = {
        "plan_id": result.result["plan_id"],
        "operation": result.operation,
        "environment": result.environment,
        "shown_at": format_utc(utcnow()),
        "message": result.message,
        "plan": plan,
    }
    data = json.dumps(record, indent=2, sort_keys=False, default=str).encode("utf-8")
    atomic_write(path, data)
    _forget_old_plans(path.parent)
    return path


def _forget_old_plans(directory: Path) -> None:
    """Plans shown more than KEEP_PLANS_DAYS ago are stale: drop their files (an
    --approve for one is then refused by the guard as never shown)."""
    import time

    cutoff = time.time() - KEEP_PLANS_DAYS * 86400
    for old in directory.glob("plan-*.json"):
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink()
        except FileNotFoundError:
            continue
