"""Arguments and human output for `faber-db health`."""

from __future__ import annotations

import argparse

from faber_db.cli.render import (
    register_error_formatter,
    register_formatter,
    register_heading,
    table,
)

STATUS_MARKS = {"ok": "ok", "warn": "WARN", "fail": "FAIL"}
HEADINGS = {"ok": "OK", "warn": "WARN", "fail": "FAIL"}


def register(subparsers, common: argparse.ArgumentParser) -> None:
    """Add the health command."""
    health = subparsers.add_parser(
        "health",
        parents=[common],
        help="check connection, tools, migrations, drift, backups, disk room and blockers",
    )
    health.add_argument("env", help="environment name")
    health.add_argument(
        "--no-drift", action="store_true", help="skip the drift check (the slow part)"
    )
    health.add_argument(
        "--deep", action="store_true", help="also re-read the newest backup and check its sha256"
    )
    health.set_defaults(run=run_health, operation="health")


def run_health(args, context):
    """faber-db health <env>"""
    from faber_db.health_checker.health import HealthOptions, run_health

    options = HealthOptions(drift=not args.no_drift, deep=args.deep)
    return run_health(context.config, args.env, options)


def check_lines(report: dict) -> list[str]:
    """An aligned table of the checks: name, status, detail."""
    rows = [
        [ch["name"], STATUS_MARKS.get(ch["status"], ch["status"]), ch["detail"]]
        for ch in report.get("checks", [])
    ]
    return [line.rstrip() for line in table(rows, ["CHECK", "STATUS", "DETAIL"])] if rows else []


def _migrate_error_lines(data: dict) -> list[str]:
    """A migrate stopped by its health check shows the checks."""
    return check_lines(data["health"]) if isinstance(data.get("health"), dict) else []


def health_heading(result) -> str | None:
    """OK, WARN or FAIL: the report's overall status."""
    return HEADINGS.get(result.result.get("status"))


register_formatter("health", check_lines)
register_error_formatter("health", check_lines)
register_error_formatter("migrate", _migrate_error_lines)
register_heading("health", health_heading)
