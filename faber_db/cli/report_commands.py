"""Arguments for `faber-db report`."""

from __future__ import annotations

import argparse

from faber_db.cli.render import aligned, register_formatter


def register(subparsers, common: argparse.ArgumentParser) -> None:
    """Add the report command."""
    report = subparsers.add_parser(
        "report",
        parents=[common],
        help="write one self-contained HTML page of backups, restores, migrations and the audit chain",
    )
    report.add_argument("--env", metavar="ENV", help="only this environment (default: all)")
    report.add_argument(
        "--output",
        metavar="PATH",
        help="the HTML file to write (default: faber-db-report.html in the current directory)",
    )
    report.add_argument(
        "--no-database",
        action="store_true",
        help="do not connect to the databases (the tracking tables are left out)",
    )
    report.set_defaults(run=run_report, operation="report")


def run_report(args, context):
    """faber-db report [--env E] [--output PATH] [--no-database]"""
    from faber_db.report import write_report

    return write_report(context.config, args.env, args.output, probe=not args.no_database)


def _report_lines(data: dict) -> list[str]:
    rows = [("path", data.get("path")), ("audit chain", _chain(data))]
    for env in data.get("environments", []):
        rows.append(
            (
                env.get("name"),
                f"{env.get('backups')} backup(s), {env.get('migrations')} migration(s), "
                f"{env.get('restores_and_rollbacks')} restore(s)/rollback(s), "
                f"database {env.get('database')}",
            )
        )
    return aligned(rows)


def _chain(data: dict) -> str:
    return "verified" if data.get("audit_chain_ok") else "BROKEN (see the page)"


register_formatter("report", _report_lines)
