"""Arguments for `faber-db audit`."""

from __future__ import annotations

import argparse

from faber_db.cli.render import aligned, register_formatter, register_heading


def register(subparsers, common: argparse.ArgumentParser) -> None:
    """Add the audit command."""
    audit = subparsers.add_parser(
        "audit", parents=[common], help="show the audit trail or verify its hash chain"
    )
    audit.add_argument("env", nargs="?", help="only this environment")
    audit.add_argument(
        "--verify", action="store_true", help="check the hash chain and name the first broken line"
    )
    audit.add_argument(
        "--limit",
        type=int,
        default=50,
        metavar="N",
        help="show the newest N lines (0 = all; default 50)",
    )
    audit.set_defaults(run=run_audit, operation="audit")


def run_audit(args, context):
    """faber-db audit [<env>] [--verify]"""
    from faber_db.audit_report import show_audit, verify_audit

    if args.verify:
        return verify_audit(context.config)
    return show_audit(context.config, args.env, args.limit)


def _audit_lines(data: dict) -> list[str]:
    lines = []
    for entry in data.get("entries", []):
        lines.append(
            f"  {entry.get('seq', '?'):>4}  {entry.get('time', '')}  {entry.get('operation', ''):<16}"
            f" {entry.get('environment') or '-':<12} {entry.get('result', ''):<18} {_who(entry)}"
            + (f"  {entry['plan_id']}" if entry.get("plan_id") else "")
        )
        config = entry.get("config") or {}
        if config and not config.get("own", True):
            lines.append(f"        config (not the project's own): {config.get('path')}")
        lines += [f"        {change}" for change in entry.get("changes", [])]
    return lines


def _who(entry: dict) -> str:
    """The OS user, and the agent the environment claimed (never verified; older
    lines call the field `agent`)."""
    agent = entry.get("agent_claimed") or entry.get("agent")
    return entry.get("user", "?") + (f" via {agent} (claimed)" if agent else "")


register_formatter("audit", _audit_lines)
register_heading("audit", lambda result: None if result.result.get("chain_ok", True) else "WARNING")
register_formatter(
    "audit-verify",
    lambda data: aligned(
        [
            ("lines", data.get("lines")),
            ("path", data.get("path")),
            ("anchors", data.get("anchors_checked")),
        ]
    ),
)
