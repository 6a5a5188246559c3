"""Terminal interaction: typed confirmation and a progress spinner on stderr."""

from __future__ import annotations

import sys
import time

FRAMES = "|/-\\"


def terminal_confirm(question: str, expected: str) -> bool:
    """Ask the person to type `expected`; anything else (or EOF) is a no."""
    sys.stderr.write(f"{question}\n  type '{expected}' to proceed, anything else cancels: ")
    sys.stderr.flush()
    try:
        answer = input()
    except EOFError:
        return False
    return answer.strip() == expected


class Spinner:
    """A one-line progress indicator, rewritten in place, cleared at the end."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.started = time.monotonic()
        self.frame = 0
        self.shown = False

    def update(self, message: str) -> None:
        """Show `message` with the elapsed time."""
        if not self.enabled:
            return
        self.frame = (self.frame + 1) % len(FRAMES)
        elapsed = time.monotonic() - self.started
        sys.stderr.write(f"\r{FRAMES[self.frame]} {message} ({elapsed:.0f}s)\033[K")
        sys.stderr.flush()
        self.shown = True

    def clear(self) -> None:
        """Remove the line before the final output."""
        if self.shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
            self.shown = False
