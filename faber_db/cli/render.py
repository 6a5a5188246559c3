"""Render a Result: one JSON object (--json) or short, aligned text for people."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

from faber_db.human_text import human_size
from faber_db.result import Result

MARKS = {
    "success": "OK",
    "error": "ERROR",
    "approval_required": "APPROVAL REQUIRED",
    "dry_run": "DRY RUN",
}


def render(result: Result, as_json: bool, context=None) -> None:
    """Print the result to stdout (warnings and errors to stderr for people)."""
    if context is not None and "spinner" in vars(context):
        context.spinner.clear()
    if as_json:
        print(json.dumps(result.to_dict(), indent=2, default=str, ensure_ascii=False))
        return
    stream = sys.stdout
    heading = HEADINGS.get(result.operation)
    mark = (heading(result) if heading else None) or MARKS.get(result.status, result.status.upper())
    message = result.message
    if message.upper().startswith(mark + ":"):  # "Dry run: ..." reads "DRY RUN: ..." too
        message = message[len(mark) + 1 :].lstrip()
    stream.write(f"{mark}: {message}\n")
    if not _plan_already_shown(result, context):
        for line in result_lines(result):
            stream.write(line + "\n")
    for warning in result.warnings:
        sys.stderr.write(f"warning: {warning}\n")
    if result.suggestions:
        stream.write("next:\n")
        for suggestion in result.suggestions:
            stream.write(f"  {suggestion}\n")


def result_lines(result: Result) -> list[str]:
    """The human lines below the message: the operation's formatter, else the plan."""
    if result.status == "error":
        error_formatter = ERROR_FORMATTERS.get(result.operation)
        return error_formatter(result.result) if error_formatter else []
    formatter = FORMATTERS.get(result.operation)
    plan = result.result.get("plan") if isinstance(result.result.get("plan"), dict) else None
    if formatter:
        lines = formatter(result.result)
    elif result.status == "approval_required" and plan is not None:
        lines = generic_plan_lines(plan)
    else:
        lines = []
    return lines + (plan_warning_lines(plan) if plan is not None else [])


def plan_text(operation: str, env: str | None, plan: dict) -> list[str]:
    """A plan as shown before a person is asked: what its approval result would show."""
    data = {"plan": plan, "plan_id": plan.get("plan_id")}
    where = f" on '{env}'" if env else ""
    lines = result_lines(Result(operation=operation, status="approval_required", result=data))
    return [f"PLAN: {operation}{where}", *lines]


def _plan_already_shown(result: Result, context) -> bool:
    """An approval refused at the prompt: its plan was printed just before the question."""
    shown = getattr(context, "shown_plan_id", None)
    return (
        result.status == "approval_required"
        and shown is not None
        and shown == result.result.get("plan_id")
    )


def generic_plan_lines(plan: dict) -> list[str]:
    """Any plan as short aligned text: its fields, then what `display` shows beside it."""
    body = {k: v for k, v in plan.items() if k not in ("display", "plan_id")}
    shown = {k: v for k, v in plan.get("display", {}).items() if k != "warnings"}
    return aligned([(k.replace("_", " "), _short(v)) for k, v in {**body, **shown}.items()])


def _short(value) -> str:
    """One line for a plan value: lists and objects compactly, ids before the rest."""
    if isinstance(value, list):
        return ", ".join(_short(v) for v in value) or "none"
    if isinstance(value, dict):
        return " ".join(f"{k}={_short(v)}" for k, v in value.items())
    return str(value)


def aligned(pairs: list[tuple[str, object]]) -> list[str]:
    """'key:   value' lines with the values aligned."""
    pairs = [(k, v) for k, v in pairs if v not in (None, "", [], {})]
    width = max((len(k) for k, _ in pairs), default=0)
    return [f"  {k + ':':<{width + 1}} {v}" for k, v in pairs]


def table(rows: list[list[str]], header: list[str]) -> list[str]:
    """A plain text table."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    fmt = "  " + "  ".join(f"{{:<{w}}}" for w in widths)
    return [fmt.format(*header), *(fmt.format(*map(str, r)) for r in rows)]


def _backup_lines(data: dict) -> list[str]:
    if data.get("due") is False:  # backup --if-due, not due: the message says it all
        return aligned(
            [("schedule", data.get("schedule")), ("newest", data.get("newest_backup_id"))]
        )
    lines = _entry_lines(data)
    if data.get("due"):
        lines += aligned(
            [("next due", data.get("next_due")), ("pruned", ", ".join(data["pruned"]))]
        )
    return lines


def _entry_lines(data: dict) -> list[str]:
    manifest = data.get("manifest", {})
    tables = manifest.get("tables", {})
    migrations = data.get("migrations", {})
    return aligned(
        [
            ("id", data.get("backup_id")),
            ("file", data.get("file")),
            ("size", data.get("size_human")),
            ("format", f"{_format_name(data)}, {data.get('compression')}"),
            ("sha256", data.get("sha256")),
            ("tables", f"{len(tables)} ({sum(tables.values())} rows)" if tables else "0"),
            (
                "migrations",
                f"{migrations.get('applied_count', 0)} applied, last {migrations.get('last_migration') or '-'}",
            ),
            ("verified", (data.get("verification") or {}).get("integrity_check")),
            ("remote", _remote_text(data.get("remote"))),
            *((f"{c['where']} copy", c["state"]) for c in data.get("copies", [])),
            ("expires", data.get("expires_at")),
            ("restore with", data.get("restore_command")),
        ]
    )


def _remote_text(remote: dict | None) -> str | None:
    """The remote copy in one phrase (None without a repository)."""
    if not remote:
        return None
    if remote.get("status") == "verified":
        return f"verified {remote.get('verified_at')} ({remote.get('key')})"
    return f"missing: {remote.get('error')}"


def _format_name(data: dict) -> str:
    from faber_db.engines import format_description

    return format_description(str(data.get("engine")), str(data.get("format")))


def _list_lines(data: dict) -> list[str]:
    rows = [
        [
            b["backup_id"],
            b["environment"],
            b["engine"],
            b["timestamp"],
            human_size(b["size_bytes"]),
            b["reason"],
            b["status"],
            b.get("location", "local"),
        ]
        for b in data.get("backups", [])
    ]
    headings = ["ID", "ENV", "ENGINE", "CREATED (UTC)", "SIZE", "REASON", "STATUS", "WHERE"]
    return table(rows, headings) if rows else []


def _verify_lines(data: dict) -> list[str]:
    checks = data.get("verification", {})
    return aligned(
        [(k, checks.get(k)) for k in ("checksum", "decryption", "decompression", "format")]
        + [("problems", "; ".join(checks.get("problems", [])))]
    )


def _prune_lines(data: dict) -> list[str]:
    plan = data.get("plan", data)
    lines = [f"  delete {d['backup_id']}: {d['reason']}" for d in plan.get("delete", [])]
    keep = plan.get("display", {}).get("keep", [])
    lines += [f"  keep   {d['backup_id']}: {d['reason']}" for d in keep]
    if plan.get("plan_id"):
        lines.append(f"  plan:  {plan['plan_id']}")
    return lines


def _delete_lines(data: dict) -> list[str]:
    """The backups a delete removes (its plan), or what it freed."""
    plan = data.get("plan") or {}
    pairs: list[tuple[str, object]] = []
    for b in plan.get("display", {}).get("backups", []):
        pairs += [
            ("delete", b.get("backup_id")),
            ("environment", b.get("environment")),
            ("database", b.get("database")),
            ("created", b.get("timestamp")),
            ("reason", b.get("reason")),
            ("size", b.get("size_human")),
            ("status", b.get("status")),
            ("file", b.get("file")),
        ]
    if data.get("deleted"):
        pairs += [
            ("deleted", ", ".join(data["deleted"])),
            ("freed", human_size(data["freed_bytes"])),
        ]
    return aligned([*pairs, ("plan", plan.get("plan_id") or data.get("plan_id"))])


def _resolve_lines(data: dict) -> list[str]:
    """What resolve records (its plan), or what it recorded."""
    plan = data.get("plan")
    if plan is None:
        return aligned(
            [
                ("recorded", f"{data.get('migration')} as {data.get('action')}"),
                ("failed rows closed", data.get("failed_rows_rolled_back")),
                ("tracking table", "created" if data.get("tracking_table_created") else None),
            ]
        )
    return aligned(
        [
            ("record", f"{plan.get('migration')} as {plan.get('mark')}"),
            ("database", plan.get("database")),
            ("checksum", plan.get("checksum")),
            ("plan", plan.get("plan_id")),
        ]
    )


def plan_warning_lines(plan: dict) -> list[str]:
    """What a person must read before approving (plan.display.warnings), for every command."""
    return [f"  ! {w}" for w in plan.get("display", {}).get("warnings", [])]


def _sync_lines(data: dict) -> list[str]:
    failed = [f"{f['backup_id']}: {f['error']}" for f in data.get("failed", [])]
    return aligned(
        [
            ("repository", data.get("repository")),
            ("uploaded", ", ".join(data.get("uploaded", [])) or "-"),
            ("failed", "; ".join(failed) or None),
            ("aborted", ", ".join(data.get("aborted_uploads", [])) or None),
        ]
    )


FORMATTERS: dict[str, Callable[[dict], list[str]]] = {
    "backups-delete": _delete_lines,
    "resolve": _resolve_lines,
    "backup": _backup_lines,
    "backups-show": _entry_lines,
    "backups-list": _list_lines,
    "backups-verify": _verify_lines,
    "backups-prune": _prune_lines,
    "backups-sync": _sync_lines,
}


def register_formatter(operation: str, formatter: Callable[[dict], list[str]]) -> None:
    """Let a command module add its own human formatter."""
    FORMATTERS[operation] = formatter


#: operation -> the human lines of its error results (most errors show none: the
#: message and the next commands say it all; a failed health check shows its checks).
ERROR_FORMATTERS: dict[str, Callable[[dict], list[str]]] = {}


def register_error_formatter(operation: str, formatter: Callable[[dict], list[str]]) -> None:
    """Let a command module show lines below the message of an error result too."""
    ERROR_FORMATTERS[operation] = formatter


#: operation -> the heading word of its human text (None: the status's mark).
HEADINGS: dict[str, Callable[[Result], str | None]] = {}


def register_heading(operation: str, heading: Callable[[Result], str | None]) -> None:
    """Let a command module head its human text by more than the status (check: DANGER)."""
    HEADINGS[operation] = heading
