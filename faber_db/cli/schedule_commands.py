"""Arguments for schedule {show,install,remove}."""

from __future__ import annotations

import argparse

from faber_db.cli.render import register_formatter


def register(subparsers, common: argparse.ArgumentParser) -> None:
    """Add this module's commands to the parser."""
    schedule = subparsers.add_parser(
        "schedule",
        parents=[common],
        help="show, install or remove the timer that runs backup --if-due",
    )
    actions = schedule.add_subparsers(dest="action", metavar="<action>", required=True)
    show = actions.add_parser(
        "show", parents=[common], help="schedules, next due times, and what is installed"
    )
    _add_target(show)
    show.set_defaults(run=run_show, operation="schedule-show")
    install = actions.add_parser(
        "install", parents=[common], help="write a systemd user timer or a crontab line"
    )
    _add_target(install)
    install.add_argument(
        "--env-file",
        metavar="FILE",
        help="file of NAME=value lines the run loads (the URL variables); referenced, never copied",
    )
    _add_dry_run(install, "print the files (or the crontab line); write nothing")
    install.set_defaults(run=run_install, operation="schedule-install")
    remove = actions.add_parser(
        "remove", parents=[common], help="delete the timer files or the crontab line"
    )
    _add_target(remove)
    _add_dry_run(remove, "say what would be removed; remove nothing")
    remove.set_defaults(run=run_remove, operation="schedule-remove")


def _add_target(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "env", nargs="?", help="one environment (default: every one with backup.schedule)"
    )
    kind = parser.add_mutually_exclusive_group()
    kind.add_argument(
        "--systemd",
        dest="kind",
        action="store_const",
        const="systemd",
        help="a systemd user timer (default where systemctl is installed)",
    )
    kind.add_argument(
        "--cron",
        dest="kind",
        action="store_const",
        const="cron",
        help="a line in your crontab (default elsewhere)",
    )


def _add_dry_run(parser: argparse.ArgumentParser, text: str) -> None:
    parser.add_argument("--dry-run", action="store_true", help=text)


def run_show(args, context):
    """faber-db schedule show [<env>]"""
    from faber_db.backup_manager.schedule_install import show_schedule

    return show_schedule(context.config, args.env, args.kind)


def run_install(args, context):
    """faber-db schedule install [<env>]"""
    from faber_db.backup_manager.schedule_install import install_schedule

    return install_schedule(context.config, args.env, args.kind, args.env_file, args.dry_run)


def run_remove(args, context):
    """faber-db schedule remove [<env>]"""
    from faber_db.backup_manager.schedule_install import remove_schedule

    return remove_schedule(context.config, args.env, args.kind, args.dry_run)


def _files_lines(data: dict) -> list[str]:
    """The unit files (or crontab lines) install writes, in full: a dry run's point."""
    lines = []
    for path, text in data.get("files", {}).items():
        lines += [f"  --- {path}", *(f"  {line}" for line in text.rstrip("\n").splitlines())]
    lines += [f"  {line}" for line in data.get("cron_lines", [])]
    return lines


def _show_lines(data: dict) -> list[str]:
    lines = []
    for job in data.get("jobs", []):
        lines.append(f"  {job['environment']}: {job['schedule']}, next due {job['next_due']}")
        lines.append(f"    {data['kind']}: {job['installed']}")
        if job.get("cron_line"):
            lines.append(f"    {job['cron_line']}")
        lines += [f"    {path}" for path in job.get("files", {})]
    return lines


def _removed_lines(data: dict) -> list[str]:
    return [f"  {item}" for item in data.get("removed", [])]


register_formatter("schedule-install", _files_lines)
register_formatter("schedule-show", _show_lines)
register_formatter("schedule-remove", _removed_lines)
