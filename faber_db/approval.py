"""How a command learns that a person approved it.

Interactive confirmation is a UI concern, so cli.py passes a `confirm`
callable; skill functions never read the terminal themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# confirm(question, expected_answer) -> True when the person typed the expected answer
Confirm = Callable[[str, str], bool]
# present(operation, environment, plan): show the whole plan before the first question
Present = Callable[[str, "str | None", dict], None]


@dataclass
class Approval:
    """What the caller brings: --yes, --approve <plan_id>, or an interactive prompt."""

    yes: bool = False
    approve: str | None = None
    confirm: Confirm | None = None
    present: Present | None = None

    def ask(self, operation: str, env: str | None, plan: dict, question: str, answer: str) -> bool:
        """Show the plan (if not yet shown), then ask `question`; True when `answer` was typed.

        A person is never asked to approve a plan they have not seen.
        """
        if self.confirm is None:
            return False
        if self.present is not None:
            self.present(operation, env, plan)
        return self.confirm(question, answer)
