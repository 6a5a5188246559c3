"""A plan faber-db kept (state/plans/<plan_id>.json), read back and summarised for
the person who approves it in Claude Code's permission prompt: operation,
environment, each migration or the backup to restore, the safety findings with
affected rows, the data-loss figures and the pre-step backup."""

from __future__ import annotations

import json
import re
from pathlib import Path

PLAN_ID_RE = re.compile(r"^plan-[0-9a-f]{16}$")  # as faber_db.plans.PLAN_ID_RE
MAX_ITEMS = 12


def plan_file(state_dir: Path, plan_id: str) -> Path | None:
    """state/plans/<plan_id>.json, or None for a value that is not a plan id."""
    if not PLAN_ID_RE.match(plan_id or ""):
        return None
    return state_dir / "plans" / f"{plan_id}.json"


def load_plan(state_dir: Path, plan_id: str) -> dict | None:
    """The stored plan record, or None when faber-db never showed that plan."""
    path = plan_file(state_dir, plan_id)
    if path is None or not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("plan_id") != plan_id:
        return None
    return record if isinstance(record.get("plan"), dict) else None


def plan_matches_id(record: dict) -> bool:
    """True when the stored plan hashes to its plan id (as faber_db.plans.plan_id), so
    what the person reads is exactly what `--approve <plan_id>` lets faber-db do."""
    import hashlib

    body = {k: v for k, v in record["plan"].items() if k not in ("plan_id", "display")}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return "plan-" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16] == record["plan_id"]


def summarise(record: dict) -> str:
    """The plan in a few lines, for the permission prompt."""
    plan, operation = record["plan"], record.get("operation") or record["plan"].get("operation")
    env = record.get("environment") or plan.get("environment")
    lines = [
        f"faber-db {operation} on protected environment '{env}': approve plan {record['plan_id']}?",
    ]
    if plan.get("database"):
        lines.append(f"Database: {plan.get('engine', '')} {plan['database']}".replace("  ", " "))
    if operation == "migrate":
        lines += _migrations(plan)
    elif operation == "rollback" and plan.get("strategy") == "down":
        lines += _down(plan)
    elif operation in ("restore", "rollback"):
        lines += _restore(plan)
    elif operation == "resolve":
        lines.append(f"Mark migration {plan.get('migration')} as {plan.get('mark')}.")
    elif operation in ("backups-delete", "backups-prune"):
        doomed = [d.get("backup_id") for d in plan.get("delete", [])]
        lines.append(f"Backups deleted ({len(doomed)}): " + ", ".join(map(str, doomed[:MAX_ITEMS])))
    lines.append(
        f"Shown by faber-db at {record.get('shown_at', '?')}. Only a person can approve this."
    )
    return "\n".join(lines)


def _migrations(plan: dict) -> list[str]:
    migrations = plan.get("migrations", [])
    lines = [f"Migrations ({len(migrations)}):"]
    for migration in migrations[:MAX_ITEMS]:
        statements = migration.get("statements")
        lines.append(f"  - {migration.get('name')} ({statements} statement(s))")
    if len(migrations) > MAX_ITEMS:
        lines.append(f"  ... and {len(migrations) - MAX_ITEMS} more")
    findings = ((plan.get("display") or {}).get("safety") or {}).get("findings") or []
    if findings:
        lines.append("Safety findings:")
        for finding in findings[:MAX_ITEMS]:
            rows = (finding.get("impact") or {}).get("rows")
            affected = f" ({rows} row(s) affected)" if rows is not None else ""
            lines.append(
                f"  - {str(finding.get('severity', '')).upper()} {finding.get('rule')} "
                f"in {finding.get('migration')}: {finding.get('message')}{affected}"
            )
    else:
        lines.append("Safety findings: none")
    backup = plan.get("backup") or {}
    if backup.get("take"):
        lines.append(f"Pre-migration backup: yes ({backup.get('why') or backup.get('reason')})")
    else:
        lines.append(f"Pre-migration backup: NO ({backup.get('why') or 'not taken'})")
    return lines


def _down(plan: dict) -> list[str]:
    """A rollback by down files: which run, what they drop, the safety backup."""
    steps = plan.get("migrations_to_undo") or []
    names = [str(step.get("name")) for step in steps]
    lines = [
        f"Run the down.sql of {len(names)} migration(s), newest first, back to "
        f"{plan.get('to_migration')}: " + ", ".join(names[:MAX_ITEMS])
    ]
    down = ((plan.get("display") or {}).get("strategies") or {}).get("down") or {}
    drops = [
        f"{d.get('rule')} {d.get('object')} ({d.get('rows_lost')} row(s) of data)"
        for d in down.get("drops") or []
    ]
    lines.append("Data dropped: " + ("; ".join(drops[:MAX_ITEMS]) if drops else "none"))
    lines.append(
        "Safety backup first: "
        + ("yes" if plan.get("safety_backup") else "NO (what the down files drop is lost)")
    )
    return lines


def _restore(plan: dict) -> list[str]:
    display = plan.get("display") or {}
    backup = display.get("backup") or plan.get("backup") or {}
    lines = [
        f"Restore backup {backup.get('id')} (taken {backup.get('timestamp', '?')}, "
        f"{backup.get('age', '?')} old, last migration {backup.get('last_migration')}) "
        f"into {plan.get('target_database')}",
    ]
    removed = plan.get("migrations_to_remove") or []
    if removed:
        lines.append(
            f"Migrations undone ({len(removed)}): " + ", ".join(map(str, removed[:MAX_ITEMS]))
        )
    losses = []
    for table in display.get("tables") or []:
        now, then = table.get("now"), table.get("at_backup")
        if now is None or then is None or now != then or table.get("schema") == "differs":
            losses.append(
                f"{table.get('table')}: {now} row(s) now, {then} after restore ({table.get('change')})"
            )
    lines.append(
        "Data changes: " + ("; ".join(losses[:MAX_ITEMS]) if losses else "row counts as now")
    )
    lines.append(
        "Safety backup first: "
        + ("yes" if plan.get("safety_backup") else "NO (data written since is lost)")
    )
    return lines
