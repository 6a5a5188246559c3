"""Arguments for `faber-db check`."""

from __future__ import annotations

import argparse

from faber_db.cli.render import register_formatter, register_heading


def register(subparsers, common: argparse.ArgumentParser) -> None:
    """Add the check command."""
    check = subparsers.add_parser(
        "check",
        parents=[common],
        help="safety-check the pending migrations (destructive and locking changes, live impact, policy)",
    )
    check.add_argument("env", help="environment name")
    check.set_defaults(run=run_check, operation="check")


def run_check(args, context):
    """faber-db check <env>"""
    from faber_db.safety_validator.check import check_environment

    return check_environment(context.config, args.env)


def finding_lines(findings: list[dict]) -> list[str]:
    """One line per finding: severity, rule, where, object, impact."""
    lines = []
    for f in findings:
        impact = ", ".join(
            f"{k} {len(v) if isinstance(v, list) else v}"
            for k, v in (f.get("impact") or {}).items()
            if v is not None
        )
        lines.append(
            f"  {f['severity'].upper():<8} {f['rule']:<30} {f.get('migration') or '-'}:{f['line']}"
            f"  {f.get('object') or ''}" + (f"  ({impact})" if impact else "")
        )
        lines.append(f"           {f['message']}")
    return lines


def _check_lines(data: dict) -> list[str]:
    lines = safety_lines(data)
    downs = data.get("down_files")
    if downs:
        lines.append(f"  down files ({len(downs['files'])}):")
        lines += finding_lines(downs.get("findings", []))
        lines += [
            f"  not proven: {item['migration']}: {item['reason']}"
            for item in downs["proof"].get("not_proven", [])
        ]
    return lines


def check_heading(result) -> str | None:
    """The worst finding's severity (BLOCKED, DANGER, WARNING) heads a check; else OK."""
    if result.status != "success":
        return None
    summary = result.result.get("summary") or {}
    downs = (result.result.get("down_files") or {}).get("summary") or {}
    for severity in ("blocked", "danger", "warning"):
        if summary.get(severity) or downs.get(severity):
            return severity.upper()
    return None


def safety_lines(data: dict) -> list[str]:
    """Findings with their impact, then the policy's decision (check, migrate plans)."""
    policy = data.get("policy") or {}
    lines = finding_lines(data.get("findings", []))
    if policy:
        lines.append(
            f"  policy: approval {policy.get('approval')}"
            + (", backup required" if policy.get("require_backup") else "")
            + (", BLOCKED" if not policy.get("allowed", True) else "")
        )
    if data.get("skipped"):
        lines.append(f"  not checked: {data['skipped']}")
    return lines


register_formatter("check", _check_lines)
register_heading("check", check_heading)
