"""Arguments and human output for status, migrate, resolve,
generate-migration and db-create."""

from __future__ import annotations

import argparse

from faber_db.cli.options import add_approval_arguments
from faber_db.cli.render import aligned, register_formatter
from faber_db.cli.safety_commands import safety_lines

STATE_MARKS = {
    "applied": "[x]",
    "pending": "[ ]",
    "failed": "[!]",
    "modified": "[~]",
    "missing": "[?]",
}
STEPS_SHOWN = 5
STATE_LABELS = {"failed": "FAILED", "modified": "EDITED", "missing": "NOT IN DIRECTORY"}


def register(subparsers, common: argparse.ArgumentParser) -> None:
    """Add this module's commands to the parser."""
    status = subparsers.add_parser(
        "status", parents=[common], help="show applied, pending and failed migrations"
    )
    status.add_argument("env", help="environment name")
    status.set_defaults(run=run_status, operation="status")
    _add_migrate(subparsers, common)
    _add_resolve(subparsers, common)
    generate = subparsers.add_parser(
        "generate-migration", parents=[common], help="create <timestamp>_<name>/migration.sql"
    )
    generate.add_argument("name", help="migration name (snake_case; spaces and '-' become '_')")
    generate.add_argument("--from-file", metavar="SQL", help="take the SQL from this file")
    generate.add_argument(
        "--down-from-file",
        metavar="SQL",
        help="write this file's SQL as down.sql (what rollback --strategy down runs)",
    )
    generate.set_defaults(run=run_generate, operation="generate-migration")
    create = subparsers.add_parser(
        "db-create", parents=[common], help="create the environment's database if missing"
    )
    create.add_argument("env", help="environment name")
    create.set_defaults(run=run_db_create, operation="db-create")


def _add_migrate(subparsers, common: argparse.ArgumentParser) -> None:
    migrate = subparsers.add_parser(
        "migrate", parents=[common], help="apply pending migrations (Prisma layout)"
    )
    migrate.add_argument("env", help="environment name")
    migrate.add_argument("--dry-run", action="store_true", help="show the plan, change nothing")
    add_approval_arguments(
        migrate,
        "accepted for scripts: an unprotected environment is migrated without asking; never an approval on a protected one",
    )
    migrate.add_argument(
        "--no-backup", action="store_true", help="skip the pre-migration backup (if allowed)"
    )
    migrate.add_argument(
        "--auto-rollback",
        action="store_true",
        help="restore the pre-migration backup if a migration fails",
    )
    migrate.add_argument(
        "--rehearse",
        nargs="?",
        const="full",
        choices=("full", "schema"),
        help="apply the plan to a scratch copy of the newest valid backup instead "
        "(full, the default; schema: its tables emptied); the target is not touched",
    )
    migrate.add_argument(
        "--rehearse-from",
        metavar="BACKUP_ID",
        help="rehearse on this backup instead of the newest valid one (implies --rehearse)",
    )
    migrate.set_defaults(run=run_migrate, operation="migrate")


def _add_resolve(subparsers, common: argparse.ArgumentParser) -> None:
    resolve = subparsers.add_parser(
        "resolve", parents=[common], help="mark a failed migration as applied or rolled back"
    )
    resolve.add_argument("env", help="environment name")
    which = resolve.add_mutually_exclusive_group(required=True)
    which.add_argument("--applied", metavar="MIGRATION", help="record it as applied")
    which.add_argument("--rolled-back", metavar="MIGRATION", help="record it as rolled back")
    add_approval_arguments(resolve, None)
    resolve.set_defaults(run=run_resolve, operation="resolve")


def run_status(args, context):
    """faber-db status <env>"""
    from faber_db.migration_deployer.status import migration_status

    return migration_status(context.config, args.env)


def run_migrate(args, context):
    """faber-db migrate <env>"""
    from faber_db.migration_deployer.deploy import DeployOptions, deploy

    if args.rehearse or args.rehearse_from:
        return _run_rehearsal(args, context)
    options = DeployOptions(
        dry_run=args.dry_run, no_backup=args.no_backup, auto_rollback=args.auto_rollback
    )
    return deploy(context.config, args.env, options, context.approval(), context.progress)


def _run_rehearsal(args, context):
    from faber_db.errors import UsageError
    from faber_db.migration_deployer.rehearsal import RehearsalOptions, rehearse

    refused = {"--dry-run": args.dry_run, "--auto-rollback": args.auto_rollback}
    refused["--approve"] = args.approve is not None
    flag = next((name for name, given in refused.items() if given), None)
    if flag is not None:
        raise UsageError(
            f"--rehearse cannot be combined with {flag}: a rehearsal changes nothing but "
            "its own scratch copy.",
            suggestions=[f"faber-db migrate {args.env} --rehearse"],
        )
    options = RehearsalOptions(
        mode=args.rehearse or "full", backup_id=args.rehearse_from, no_backup=args.no_backup
    )
    return rehearse(context.config, args.env, options, context.progress)


def run_resolve(args, context):
    """faber-db resolve <env> --applied X | --rolled-back X"""
    from faber_db.migration_deployer.resolve import resolve_migration

    return resolve_migration(
        context.config, args.env, args.applied, args.rolled_back, context.approval()
    )


def run_generate(args, context):
    """faber-db generate-migration <name>"""
    from faber_db.migration_deployer.generate import generate_migration

    return generate_migration(
        context.config, args.name, args.from_file, down_from_file=args.down_from_file
    )


def run_db_create(args, context):
    """faber-db db-create <env>"""
    from faber_db.database_create import create_environment_database

    return create_environment_database(context.config, args.env)


# -- human output ---------------------------------------------------------------------
def status_lines(data: dict) -> list[str]:
    """Connection summary, then one line per migration with a state marker."""
    provider = data.get("provider", {})
    backup = data.get("last_backup") or {}
    lines = aligned(
        [
            ("connection", data.get("connection")),
            ("server", f"{data.get('engine')} {data.get('server_version')}"),
            ("directory", data.get("migrations_directory")),
            ("lock file", provider.get("lock_file") and f"provider = {provider['lock_file']}"),
            (
                "last backup",
                backup and f"{backup['backup_id']} ({backup['timestamp']}, {backup['reason']})",
            ),
        ]
    )
    return lines + migration_lines(data.get("migrations", []))


def migration_lines(migrations: list[dict]) -> list[str]:
    """'[x] name   applied 2025-...' lines, names aligned."""
    width = max((len(m["name"]) for m in migrations), default=0)
    lines = []
    for m in migrations:
        state = m["state"]
        when = m.get("finished_at") or m.get("started_at") or ""
        label = STATE_LABELS.get(state, state)
        lines.append(f"  {STATE_MARKS.get(state, '[ ]')} {m['name']:<{width}}  {label} {when}")
    return lines


def migrate_lines(data: dict) -> list[str]:
    """Applied migrations with timings, or the plan of a dry run / approval."""
    if data.get("rehearsal"):
        return rehearsal_lines(data["rehearsal"])
    if data.get("applied"):
        width = max(len(a["name"]) for a in data["applied"])
        lines = [
            f"  [x] {a['name']:<{width}}  {a['statements']} statement(s), "
            f"{a['duration_seconds']:.3f}s"
            + ("" if a["transaction"] != "none" else ", no transaction")
            for a in data["applied"]
        ]
        if data.get("pre_migration_backup_id"):
            lines.insert(0, f"  pre-migration backup: {data['pre_migration_backup_id']}")
        return lines
    plan = data.get("plan") or {}
    return plan_lines(plan) if plan.get("migrations") else []


def plan_lines(plan: dict) -> list[str]:
    """The plan: backup step, then each migration and its statements."""
    backup = plan.get("backup", {})
    lines = [f"  plan {plan.get('plan_id', '')}"]
    lines.append("  1. pre-migration backup" if backup.get("take") else "  1. no backup")
    lines[-1] += f" ({backup.get('why')})"
    for number, m in enumerate(plan["migrations"], 2):
        mode = "in a transaction" if m["transaction"] == "transaction" else "NO transaction"
        lines.append(f"  {number}. {m['name']}: {m['statements']} statement(s), {mode}")
        lines += [f"       ! {reason}" for reason in m.get("no_transaction_reasons", [])]
        steps = m.get("steps", [])
        lines += [f"       line {s['line']:>4}: {s['sql']}" for s in steps[:STEPS_SHOWN]]
        if len(steps) > STEPS_SHOWN:
            lines.append(f"       ... {len(steps) - STEPS_SHOWN} more (--json shows all)")
    rehearsal = plan.get("display", {}).get("rehearsal")
    if rehearsal:
        lines.append(f"  {rehearsal['text']}")
    safety = plan.get("display", {}).get("safety")
    if safety and (safety.get("findings") or safety.get("skipped")):
        lines.append("  safety check:")
        lines += safety_lines(safety)
    return lines


def rehearsal_lines(report: dict) -> list[str]:
    """Each rehearsed migration: outcome, time, rows changed, locks, rewritten tables."""
    lines = [
        f"  backup {report['backup_id']} (taken {report['backup_taken_at']}), {report['mode']} copy"
    ]
    for m in report.get("migrations", []):
        mark = "[x]" if m["passed"] else "[!]"
        took = (
            f"{m['duration_seconds']:.3f}s" if m.get("duration_seconds") is not None else "failed"
        )
        lines.append(f"  {mark} {m['name']}  {took}, {m['rows_changed']} row(s) changed")
        locks = ", ".join(f"{lock['mode']} on {lock['relation']}" for lock in m.get("locks", []))
        if locks:
            lines.append(f"       locks: {locks}")
        if m.get("rewritten_tables"):
            lines.append(f"       rewrote: {', '.join(m['rewritten_tables'])}")
        if m.get("failure"):
            f = m["failure"]
            lines.append(f"       statement {f['number']} (line {f['line']}): {f['sql']}")
    return lines


register_formatter("status", status_lines)
register_formatter("migrate", migrate_lines)
