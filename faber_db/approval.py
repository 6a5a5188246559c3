"""How a command learns that a person approved it.

Interactive confirmation is a UI concern, so cli.py passes a `confirm`
callable; skill functions never read the terminal themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# confirm(question, expected_answer) -> True when the person typed the expected answer
Confirm = Callable[[str, str], bool]


@dataclass
class Approval:
    """What the caller brings: --yes, --approve <plan_id>, or an interactive prompt."""

    yes: bool = False
    approve: str | None = None
    confirm: Confirm | None = None
