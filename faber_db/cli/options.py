"""Arguments several commands share."""

from __future__ import annotations

import argparse

APPROVE_HELP = (
    "carry out exactly this approved plan (its plan_id; needed on protected environments)"
)


def add_approval_arguments(parser: argparse.ArgumentParser, yes_help: str | None) -> None:
    """--approve PLAN_ID, and --yes (with this help) where the command has it."""
    if yes_help is not None:
        parser.add_argument("--yes", action="store_true", help=yes_help)
    parser.add_argument("--approve", metavar="PLAN_ID", help=APPROVE_HELP)
