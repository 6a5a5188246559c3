"""Arguments and human output for `faber-db drift`."""

from __future__ import annotations

import argparse
import json

from faber_db.cli.render import register_formatter, register_heading

KIND_LABELS = {"missing": "MISSING", "extra": "EXTRA", "changed": "CHANGED"}
VALUE_CHARS = 70


def register(subparsers, common: argparse.ArgumentParser) -> None:
    """Add the drift command."""
    drift = subparsers.add_parser(
        "drift",
        parents=[common],
        help="compare the live schema with what its applied migrations produce",
    )
    drift.add_argument("env", help="environment name")
    drift.add_argument(
        "--shadow-url",
        metavar="URL",
        help="an empty database to replay the migrations into (default: faber-db creates "
        "and drops its own); better given by environments.<env>.shadow_url_env",
    )
    drift.set_defaults(run=run_drift, operation="drift")


def run_drift(args, context):
    """faber-db drift <env>"""
    from faber_db.health_checker.drift import drift_report

    return drift_report(context.config, args.env, args.shadow_url, context.progress)


def drift_lines(data: dict) -> list[str]:
    """One line per difference: kind, object type, object, attribute and both values."""
    lines = []
    for d in data.get("differences", []):
        where = f"{d['object_type']} {d['object']}"
        if d["kind"] == "changed":
            lines.append(f"  {KIND_LABELS['changed']:<8} {where}: {d['attribute']}")
            lines.append(f"           migrations: {_value(d['expected'])}")
            lines.append(f"           live:       {_value(d['actual'])}")
        elif d["kind"] == "missing":
            lines.append(f"  {KIND_LABELS['missing']:<8} {where} (in the migrations, not live)")
            lines += _columns_line(d["expected"])
        else:
            lines.append(f"  {KIND_LABELS['extra']:<8} {where} (live only)")
            lines += _columns_line(d["actual"])
    lines += [
        f"  EDITED   {name}: migration.sql changed after it was applied"
        for name in data.get("checksum_changed", [])
    ]
    lines += [
        f"  ORPHAN   {name}: tracking row without a migration file"
        for name in data.get("orphan_rows", [])
    ]
    return lines


def _columns_line(attributes) -> list[str]:
    columns = attributes.get("columns") if isinstance(attributes, dict) else None
    return [f"           columns: {_value(', '.join(columns))}"] if columns else []


def _value(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= VALUE_CHARS else text[: VALUE_CHARS - 4] + " ..."


register_formatter("drift", drift_lines)
register_heading("drift", lambda result: "DRIFT" if result.result.get("drift") else None)
