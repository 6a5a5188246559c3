"""Usage errors (argparse's territory) as answers: with --json anywhere on the
command line, one result object (error code usage_error, exit 2); without it,
argparse's own usage text on stderr."""

from __future__ import annotations

import argparse
import sys

from faber_db.errors import UsageError


class CommandLineError(Exception):
    """Raised instead of argparse's exit: which parser complained, and why."""

    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(message)
        self.parser = parser
        self.message = message


class FaberArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are raised, so main() chooses the output."""

    def error(self, message: str):
        """Raise CommandLineError (argparse would print and exit 2)."""
        raise CommandLineError(self, message)


def command_parser(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.ArgumentParser:
    """The deepest (sub)command parser the words of `argv` name."""
    words = [a for a in argv if not a.startswith("-")]
    for word in words:
        choices = _subcommands(parser)
        if word in choices:
            parser = choices[word]
    return parser


def _subcommands(parser: argparse.ArgumentParser) -> dict:
    for action in parser._actions:  # argparse keeps subparsers only here
        if isinstance(action, argparse._SubParsersAction):
            return action.choices
    return {}


def usage_error(
    top: argparse.ArgumentParser, error: CommandLineError, argv: list[str]
) -> UsageError:
    """The UsageError for what argparse refused: the valid choices, and the help to read."""
    parser = error.parser if error.parser is not top else command_parser(top, argv)
    message = error.message
    if message.startswith("unrecognized arguments"):
        message += "; valid options: " + ", ".join(_option_strings(parser))
    choices = _subcommands(parser)
    if "required" in message and choices and not message.count("(choose from"):
        message += " (choose from " + ", ".join(choices) + ")"
    return UsageError(
        f"{parser.prog}: {message}",
        suggestions=[f"{parser.prog} --help"]
        + ([f"{top.prog} --help"] if parser is not top else []),
        details={"usage": parser.format_usage().strip()},
    )


def _option_strings(parser: argparse.ArgumentParser) -> list[str]:
    return [
        option
        for action in parser._actions
        for option in action.option_strings
        if option.startswith("--")
    ]


def print_argparse_error(error: CommandLineError) -> None:
    """What argparse prints for a usage error: the usage line and 'prog: error: ...'."""
    error.parser.print_usage(sys.stderr)
    sys.stderr.write(f"{error.parser.prog}: error: {error.message}\n")


def operation_for(top: argparse.ArgumentParser, argv: list[str]) -> str:
    """The command a failed command line was meant for ('faber-db' when none is named)."""
    parser = command_parser(top, argv)
    words = parser.prog.split()[1:]
    return "-".join(words) if words else top.prog
