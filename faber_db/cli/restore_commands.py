"""Arguments for restore and rollback, and their human output."""

from __future__ import annotations

import argparse

from faber_db.cli.options import add_approval_arguments
from faber_db.cli.render import FORMATTERS, aligned, register_formatter, table


def register(subparsers, common: argparse.ArgumentParser) -> None:
    """Add restore and rollback to the parser."""
    restore = subparsers.add_parser(
        "restore",
        parents=[common],
        help="restore a backup into an environment's database (atomically)",
    )
    restore.add_argument("env", help="environment whose server (and database) to restore into")
    restore.add_argument(
        "--from", dest="backup_id", required=True, metavar="BACKUP_ID", help="the backup to restore"
    )
    restore.add_argument(
        "--into",
        metavar="DATABASE",
        help="restore into this database instead (the environment's own is never touched)",
    )
    _shared_options(restore)
    restore.set_defaults(run=run_restore, operation="restore")

    rollback = subparsers.add_parser(
        "rollback",
        parents=[common],
        help="roll an environment back by restoring a backup (default: its newest valid one)",
    )
    rollback.add_argument("env", help="environment to roll back")
    choice = rollback.add_mutually_exclusive_group()
    choice.add_argument("--from", dest="backup_id", metavar="BACKUP_ID", help="this backup")
    choice.add_argument(
        "--to",
        dest="to_migration",
        metavar="MIGRATION",
        help="go back to MIGRATION: by its newer migrations' down files, or the newest valid "
        "backup whose last migration is MIGRATION",
    )
    rollback.add_argument(
        "--strategy",
        choices=("auto", "down", "restore"),
        default="auto",
        help="down: run the down files (needs --to); restore: restore a backup; auto "
        "(default): down when every migration has a down file and it loses fewer rows",
    )
    _shared_options(rollback)
    rollback.set_defaults(run=run_rollback, operation="rollback")


def _shared_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dry-run", action="store_true", help="show what would change; change nothing"
    )
    add_approval_arguments(
        parser,
        "skip the confirmation a person at a terminal is asked for; never an approval on a protected environment",
    )
    parser.add_argument(
        "--no-safety-backup",
        dest="safety_backup",
        action="store_false",
        help="skip the backup of the current state (refused where backups are required)",
    )


def run_restore(args, context):
    """faber-db restore <env> --from <id>"""
    from faber_db.rollback_manager.manager import restore_backup

    return restore_backup(
        context.config,
        args.env,
        args.backup_id,
        args.into,
        dry_run=args.dry_run,
        safety_backup=args.safety_backup,
        approval=context.approval(),
        progress=context.progress,
    )


def run_rollback(args, context):
    """faber-db rollback <env>"""
    from faber_db.rollback_manager.manager import rollback

    return rollback(
        context.config,
        args.env,
        args.backup_id,
        args.to_migration,
        dry_run=args.dry_run,
        safety_backup=args.safety_backup,
        approval=context.approval(),
        progress=context.progress,
        strategy=args.strategy,
    )


def restore_lines(data: dict) -> list[str]:
    """Human summary of a restore/rollback (dry run, approval or done).

    An approval holds the dry run's figures under plan.display: the same table."""
    data = {**(data.get("plan") or {}).get("display", {}), **data}
    if (data.get("strategy") or (data.get("plan") or {}).get("strategy")) == "down":
        return down_lines(data) + strategy_lines(data.get("strategies"))
    return _restore_lines(data) + strategy_lines(data.get("strategies"))


def down_lines(data: dict) -> list[str]:
    """Human summary of a rollback by down files."""
    removed = data.get("migrations_rolled_back", data.get("migrations_to_remove")) or []
    safety = data.get("safety_backup_id") or (
        "will be taken" if data.get("safety_backup") else "none"
    )
    lines = aligned(
        [
            ("strategy", "down (the migrations' down.sql files, newest first)"),
            ("back to", data.get("to_migration")),
            ("migrations undone", ", ".join(removed) or "none"),
            ("safety backup", safety),
            ("plan", data.get("plan_id")),
        ]
    )
    return lines + [f"  note: {note}" for note in data.get("notes", [])]


def strategy_lines(strategies: dict | None) -> list[str]:
    """Restore and down side by side: what each loses, and which was chosen."""
    if not strategies:
        return []
    restore, down = strategies.get("restore") or {}, strategies.get("down") or {}
    rows = [
        ["restore", _loss(restore), restore.get("reason") or _restore_tables(restore)],
        ["down", _loss(down), down.get("reason") or _drops(down)],
    ]
    lines = table(rows, ["STRATEGY", "ROWS LOST", "WHAT IS LOST"])
    return lines + [f"  chosen: {strategies.get('chosen')} ({strategies.get('why')})"]


def _loss(side: dict) -> str:
    if not side.get("available"):
        return "unavailable"
    return "unknown" if side.get("rows_lost") is None else str(side["rows_lost"])


def _restore_tables(restore: dict) -> str:
    lost = [f"{t['table']} {t['rows_lost']}" for t in restore.get("tables", []) if t["rows_lost"]]
    return "rows written since the backup: " + (", ".join(lost) or "none")


def _drops(down: dict) -> str:
    drops = [f"{d['rule']} {d['object']} ({_count(d['rows_lost'])})" for d in down.get("drops", [])]
    return ", ".join(drops) or "nothing dropped"


def _restore_lines(data: dict) -> list[str]:
    backup = data.get("backup") or {}
    verification = data.get("verification") or {}
    removed = data.get("migrations_rolled_back", data.get("migrations_to_remove")) or []
    safety = data.get("safety_backup_id") or (
        "will be taken" if data.get("safety_backup") else "none"
    )
    lines = aligned(
        [
            ("backup", f"{backup.get('id')} ({backup.get('age')} old, {backup.get('reason')})"),
            ("into", data.get("target_database")),
            ("migrations removed", ", ".join(removed) or "none"),
            ("safety backup", safety),
            ("verification", _verification_text(verification)),
            ("plan", data.get("plan_id")),
        ]
    )
    rows = [
        [t["table"], _count(t["now"]), _count(t["at_backup"]), t["change"]]
        for t in data.get("tables", [])
    ]
    if rows:
        lines += table(rows, ["TABLE", "NOW", "AT BACKUP", "CHANGE"])
    lines += [f"  note: {note}" for note in data.get("notes", []) + data.get("recovered", [])]
    return lines


def _verification_text(verification: dict) -> str | None:
    if not verification:
        return None
    if verification.get("passed"):
        return f"passed ({verification.get('tables_checked')} tables, schema, migrations)"
    return "FAILED: " + "; ".join(verification.get("problems", []))


def _count(value) -> str:
    return "-" if value is None else str(value)


def _verify_with_deep(base):
    def lines(data: dict) -> list[str]:
        deep = (data.get("verification") or {}).get("deep")
        extra = [f"  deep:          {_verification_text(deep)}"] if deep else []
        return base(data) + extra

    return lines


register_formatter("restore", restore_lines)
register_formatter("rollback", restore_lines)
if "backups-verify" in FORMATTERS:
    register_formatter("backups-verify", _verify_with_deep(FORMATTERS["backups-verify"]))
