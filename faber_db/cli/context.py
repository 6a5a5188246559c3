"""What a command function gets besides its arguments: config loading, the
approval it carries (--yes, --approve, an interactive prompt) and progress."""

from __future__ import annotations

import argparse
import sys
from functools import cached_property

from faber_db.approval import Approval
from faber_db.cli.prompt import Spinner, terminal_confirm
from faber_db.cli.render import plan_text
from faber_db.config import Config, load_config


class CommandContext:
    """Per-invocation helpers shared by all commands."""

    def __init__(self, args: argparse.Namespace, as_json: bool) -> None:
        self.args = args
        self.as_json = as_json
        self.interactive = not as_json and sys.stdin.isatty() and sys.stdout.isatty()
        self.shown_plan_id: str | None = None

    @cached_property
    def config(self) -> Config:
        """The project config (--config, FABER_DB_CONFIG, or found by walking up)."""
        return load_config(getattr(self.args, "config", None))

    def approval(self) -> Approval:
        """The approval this invocation carries."""
        return Approval(
            yes=bool(getattr(self.args, "yes", False)),
            approve=getattr(self.args, "approve", None),
            confirm=self.confirm if self.interactive else None,
            present=self.present_plan if self.interactive else None,
        )

    def confirm(self, question: str, expected: str) -> bool:
        """Ask at the terminal, with the progress line cleared first."""
        if "spinner" in vars(self):
            self.spinner.clear()
        return terminal_confirm(question, expected)

    def present_plan(self, operation: str, env: str | None, plan: dict) -> None:
        """Print the whole plan (the text of a dry run) before the person is asked."""
        if self.shown_plan_id == plan.get("plan_id"):
            return
        if "spinner" in vars(self):
            self.spinner.clear()
        for line in plan_text(operation, env, plan):
            sys.stdout.write(line + "\n")
        sys.stdout.flush()
        self.shown_plan_id = plan.get("plan_id")

    @cached_property
    def spinner(self) -> Spinner:
        """Progress on stderr when it is a terminal and output is for people."""
        return Spinner(enabled=not self.as_json and sys.stderr.isatty())

    def progress(self, message: str) -> None:
        """Report progress of long work."""
        self.spinner.update(message)
