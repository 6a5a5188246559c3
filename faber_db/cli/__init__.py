"""Command-line entry point: parse arguments, call a skill function, render.

No logic lives here beyond choosing the function and turning its Result or
FaberError into output and an exit status (the one place that does so).
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import signal
import sys
import time

from faber_db import __version__
from faber_db.cli import (
    audit_commands,
    backup_commands,
    drift_commands,
    health_commands,
    migrate_commands,
    report_commands,
    restore_commands,
    safety_commands,
    schedule_commands,
)
from faber_db.cli.context import CommandContext
from faber_db.cli.render import render
from faber_db.cli.usage import (
    CommandLineError,
    FaberArgumentParser,
    command_parser,
    operation_for,
    print_argparse_error,
    usage_error,
)
from faber_db.errors import FaberError, OperationInterruptedError
from faber_db.exit_codes import ExitStatus, exit_status_for_error
from faber_db.interrupts import interrupts_deferred
from faber_db.result import Result

COMMAND_MODULES = [
    backup_commands,
    audit_commands,
    migrate_commands,
    restore_commands,
    safety_commands,
    drift_commands,
    report_commands,
    schedule_commands,
    health_commands,
]

# Errors whose cause is in what a native tool printed.
TOOL_ERROR_CODES = ("tool_failed", "backup_failed", "restore_failed")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (also used by the docs tests)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print one JSON object (schemas/result.schema.json)",
    )
    common.add_argument(
        "--config",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="config file (default: found by walking up from here)",
    )
    common.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="log what native tools print",
    )
    parser = FaberArgumentParser(
        prog="faber-db",
        description="Safe schema migrations, verified backups and atomic rollback for PostgreSQL, MySQL/MariaDB and SQLite.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"faber-db {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="<command>", required=True)
    for module in COMMAND_MODULES:
        module.register(subparsers, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; return its exit status (only __main__ calls sys.exit)."""
    parser = build_parser()
    words = list(argv if argv is not None else sys.argv[1:])
    try:
        args = parser.parse_args(words)
    except SystemExit as exc:  # argparse: --help / --version
        return int(exc.code or 0)
    except CommandLineError as exc:
        return _usage_failure(parser, exc, words)
    as_json = getattr(args, "json", False)
    _configure_logging(getattr(args, "verbose", False))
    signal.signal(signal.SIGTERM, _raise_interrupt)
    context = CommandContext(args, as_json)
    started = time.monotonic()
    result = run_command(args, context)
    if result.status == "error" and not result.suggestions:
        result.suggestions = fallback_suggestions(parser, words, result.error or {})
    # The work is done: an interrupt now must not cost its audit line or its answer
    # (nor end in a traceback), so it waits until both are written.
    with interrupts_deferred([]):
        keep_plan(context, result)
        audit_operation(
            context, result, argv if argv is not None else sys.argv[1:], time.monotonic() - started
        )
    send_notifications(context, result)  # may take seconds: Ctrl-C may cut it short
    with interrupts_deferred([]):
        render(result, as_json, context)
    return int(result.resolved_exit_status())


def _usage_failure(
    parser: argparse.ArgumentParser, error: CommandLineError, words: list[str]
) -> int:
    """A command line argparse refused: one JSON result with --json, else argparse's text."""
    if "--json" not in words:
        print_argparse_error(error)
        return int(ExitStatus.USAGE)
    result = error_result(usage_error(parser, error, words), operation_for(parser, words), None)
    render(result, True)
    return int(result.resolved_exit_status())


def fallback_suggestions(
    parser: argparse.ArgumentParser, words: list[str], error: dict
) -> list[str]:
    """The next command for an error that names none: every error is an answer.

    A native tool's failure is explained by what it printed (--verbose); anything
    else by the command's help."""
    help_command = f"{command_parser(parser, words).prog} --help"
    if error.get("code") in TOOL_ERROR_CODES and "--verbose" not in words and "-v" not in words:
        rerun = shlex.join(["faber-db", *words, "--verbose"])
        return [f"See what the native tool printed: {rerun}", help_command]
    return [help_command]


def run_command(args: argparse.Namespace, context: CommandContext) -> Result:
    """Call the command's function, turning errors into error Results."""
    operation = getattr(args, "operation", args.command)
    environment = getattr(args, "env", None)
    try:
        return args.run(args, context)
    except KeyboardInterrupt:
        return error_result(
            OperationInterruptedError("Interrupted; nothing was recorded."), operation, environment
        )
    except FaberError as error:
        return error_result(error, operation, environment)


def audit_operation(
    context: CommandContext, result: Result, argv: list[str], duration: float
) -> None:
    """Append mutating operations (and refused attempts) to the project's audit trail."""
    from faber_db.audit import AUDITED_OPERATIONS
    from faber_db.audit_policy import record_line

    if result.operation not in AUDITED_OPERATIONS or result.status == "dry_run":
        return
    if result.result.get("due") is False:  # backup --if-due, nothing done: a timer's poll
        return
    if result.operation == "init" and result.status == "success":
        try:  # init wrote the config: its first line goes into the new project's trail
            context.config  # noqa: B018 (loads it)
        except FaberError as exc:
            result.warnings.append(f"could not write the audit trail: {exc.message}")
            return
    if "config" not in vars(context):  # the config never loaded: no project to audit into
        return
    try:
        record_line(context.config, result, argv, duration)
    except (OSError, ValueError, FaberError) as exc:
        result.warnings.append(f"could not write the audit trail: {exc}")


def send_notifications(context: CommandContext, result: Result) -> None:
    """Tell the configured webhooks (notifications.webhooks) about `result`; a webhook
    that cannot be told is a warning in the result and a `notification` audit line."""
    if "config" not in vars(context) or not context.config.section("notifications"):
        return
    from faber_db.notifications import notify

    config = context.config
    protected = result.environment is not None and config.is_protected(result.environment)
    try:
        failures = notify(
            config.section("notifications"), result, protected, config.project_root.name
        )
    except KeyboardInterrupt:
        failures = ["notifications interrupted; some webhooks may not have been told"]
    except (OSError, ValueError, TypeError, RuntimeError) as exc:  # never the command's outcome
        failures = [f"notifications could not be sent: {type(exc).__name__}: {exc}"]
    result.warnings += failures
    if failures:
        _audit_notification_failures(context, result, failures)


def _audit_notification_failures(
    context: CommandContext, result: Result, failures: list[str]
) -> None:
    from faber_db.audit_policy import record_line

    line = Result(
        operation="notification",
        status="error",
        environment=result.environment,
        result={},
        message=f"after {result.operation} ({result.status}): " + "; ".join(failures),
        error={"code": "notification_failed", "message": failures[0]},
    )
    try:
        record_line(context.config, line, None, 0.0)
    except (OSError, ValueError, FaberError) as exc:
        result.warnings.append(f"could not write the audit trail: {exc}")


def keep_plan(context: CommandContext, result: Result) -> None:
    """Store the plan of an approval_required Result (state/plans/<plan_id>.json)
    for the Claude Code guard; a failure to store it is a warning, not an error."""
    if result.status != "approval_required" or "config" not in vars(context):
        return
    from faber_db.plans import store_plan

    try:
        store_plan(context.config.state_dir, result)
    except OSError as exc:
        result.warnings.append(f"could not keep the plan for the Claude Code guard: {exc}")


def error_result(error: FaberError, operation: str, environment: str | None) -> Result:
    """The Result for a FaberError, with its exit status from the one table."""
    error_body = {"code": error.code, "message": error.message}
    details = {k: v for k, v in error.details.items() if k != "result"}  # shown as "result"
    if details:
        error_body["details"] = details
    return Result(
        operation=operation,
        status="error",
        environment=environment,
        result=error.details.get("result", {}),
        message=error.message,
        error=error_body,
        suggestions=[_with_environment(s, environment) for s in error.suggestions],
        exit_status=exit_status_for_error(error.code),
    )


def _with_environment(suggestion: str, environment: str | None) -> str:
    # Errors raised below the command layer (an engine's "no such database") name the
    # environment as <env>; the command knows which one it was.
    return suggestion.replace("<env>", environment) if environment else suggestion


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def _configure_logging(verbose: bool) -> None:
    level = logging.INFO if verbose or os.environ.get("FABER_DB_DEBUG") else logging.WARNING
    logging.basicConfig(level=level, stream=sys.stderr, format="%(message)s")


def entry_point() -> None:
    """Console-script entry: exit with main()'s status."""
    try:
        status = main()
        sys.stdout.flush()
    except BrokenPipeError:  # output piped into `head` and the like
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        status = 0
    sys.exit(status)


__all__ = ["ExitStatus", "build_parser", "entry_point", "main"]
