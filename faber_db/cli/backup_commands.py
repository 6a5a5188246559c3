"""Arguments for init, backup and backups {list,show,verify,delete,prune,sync}."""

from __future__ import annotations

import argparse

from faber_db.cli.options import add_approval_arguments


def register(subparsers, common: argparse.ArgumentParser) -> None:
    """Add this module's commands to the parser."""
    init = subparsers.add_parser(
        "init", parents=[common], help="write a starting config for this project"
    )
    init.add_argument(
        "--force", action="store_true", help="replace an existing config (kept as .bak)"
    )
    init.set_defaults(run=run_init, operation="init")
    _add_backup(subparsers, common)
    backups = subparsers.add_parser(
        "backups", parents=[common], help="list, show, verify, delete, prune or sync backups"
    )
    actions = backups.add_subparsers(dest="action", metavar="<action>", required=True)
    _add_read_actions(actions, common)
    _add_delete_actions(actions, common)
    sync = actions.add_parser(
        "sync",
        parents=[common],
        help="upload the backups whose remote copy is missing (backup.remote)",
    )
    sync.add_argument("env", nargs="?", help="only this environment")
    sync.set_defaults(run=run_sync, operation="backups-sync")


def _add_backup(subparsers, common: argparse.ArgumentParser) -> None:
    backup = subparsers.add_parser(
        "backup", parents=[common], help="take a verified backup of an environment"
    )
    backup.add_argument("env", help="environment name (dev, staging, production, ...)")
    backup.add_argument("--label", help="label appended to the backup id (letters, digits, . _ -)")
    backup.add_argument(
        "--reason",
        help="why: manual, pre-migration, ... (default manual; scheduled with --if-due)",
    )
    backup.add_argument(
        "--format",
        choices=["sql", "custom", "directory"],
        help="dump format (default: the engine's best)",
    )
    backup.add_argument(
        "--compression",
        choices=["zstd", "gzip", "none"],
        help="compression (default zstd, else gzip)",
    )
    backup.add_argument(
        "--retention", type=int, metavar="DAYS", help="keep at least this many days"
    )
    backup.add_argument(
        "--if-due",
        action="store_true",
        help="only if backup.schedule.<env> says one is due (else: not due until T, exit 0)",
    )
    backup.set_defaults(run=run_backup, operation="backup")


def _add_read_actions(actions, common: argparse.ArgumentParser) -> None:
    listing = actions.add_parser("list", parents=[common], help="list backups, newest first")
    listing.add_argument("env", nargs="?", help="only this environment")
    listing.set_defaults(run=run_list, operation="backups-list")
    show = actions.add_parser("show", parents=[common], help="show one backup's catalogue entry")
    show.add_argument("backup_id", metavar="id", help="backup id (see backups list)")
    show.set_defaults(run=run_show, operation="backups-show")
    verify = actions.add_parser(
        "verify", parents=[common], help="re-check a backup's checksum, compression and format"
    )
    verify.add_argument("backup_id", metavar="id", help="backup id (see backups list)")
    verify.add_argument(
        "--deep",
        action="store_true",
        help="also restore it into a scratch database and compare it with its manifest",
    )
    verify.set_defaults(run=run_verify, operation="backups-verify")


def _add_delete_actions(actions, common: argparse.ArgumentParser) -> None:
    delete = actions.add_parser(
        "delete", parents=[common], help="delete a backup file and its entry"
    )
    delete.add_argument("backup_id", metavar="id", help="backup id (see backups list)")
    add_approval_arguments(delete, "delete without asking (not enough on a protected environment)")
    delete.set_defaults(run=run_delete, operation="backups-delete")
    prune = actions.add_parser(
        "prune", parents=[common], help="delete expired backups (dry run without --yes)"
    )
    prune.add_argument("env", nargs="?", help="only this environment")
    prune.add_argument(
        "--dry-run",
        action="store_true",
        help="list every backup with the rule that keeps it or the reason it goes; delete nothing",
    )
    add_approval_arguments(prune, "really delete (not enough on a protected environment)")
    prune.set_defaults(run=run_prune, operation="backups-prune")


def run_init(args, context):
    """faber-db init"""
    from faber_db.project_init import init_project

    return init_project(force=args.force)


def run_backup(args, context):
    """faber-db backup <env>"""
    from faber_db.backup_manager.create import BackupOptions
    from faber_db.backup_manager.manager import create_backup

    options = BackupOptions(
        label=args.label,
        reason=args.reason or ("scheduled" if args.if_due else "manual"),
        format=args.format,
        compression=args.compression,
        retention_days=args.retention,
    )
    if args.if_due:
        from faber_db.backup_manager.scheduled import backup_if_due

        return backup_if_due(context.config, args.env, options, context.progress)
    return create_backup(context.config, args.env, options, context.progress)


def run_list(args, context):
    """faber-db backups list [<env>]"""
    from faber_db.backup_manager.manager import list_backups

    return list_backups(context.config, args.env)


def run_show(args, context):
    """faber-db backups show <id>"""
    from faber_db.backup_manager.manager import show_backup

    return show_backup(context.config, args.backup_id)


def run_verify(args, context):
    """faber-db backups verify <id> [--deep]"""
    if args.deep:
        from faber_db.rollback_manager.deep_verification import verify_backup_deep

        return verify_backup_deep(context.config, args.backup_id, context.progress)
    from faber_db.backup_manager.manager import verify_backup

    return verify_backup(context.config, args.backup_id)


def run_delete(args, context):
    """faber-db backups delete <id>"""
    from faber_db.backup_manager.manager import delete_backup

    return delete_backup(context.config, args.backup_id, context.approval())


def run_prune(args, context):
    """faber-db backups prune [<env>]"""
    from faber_db.approval import Approval
    from faber_db.backup_manager.manager import prune_backups
    from faber_db.errors import UsageError

    if args.dry_run and (args.yes or args.approve):
        raise UsageError(
            "--dry-run deletes nothing; it cannot be combined with --yes or --approve.",
            suggestions=[f"faber-db backups prune {args.env or ''} --dry-run".replace("  ", " ")],
        )
    approval = Approval() if args.dry_run else context.approval()
    return prune_backups(context.config, args.env, approval)


def run_sync(args, context):
    """faber-db backups sync [<env>]"""
    from faber_db.backup_manager.remote.sync import sync_backups

    return sync_backups(context.config, args.env, context.progress)
