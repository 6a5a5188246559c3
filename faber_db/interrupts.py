"""Holding Ctrl-C and SIGTERM over a few steps that must not be cut in half:
recording a backup and cleaning up after it, writing the audit line and the
result of a command that has already done its work."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

HELD_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def interrupts_deferred(arrived: list[int]) -> Iterator[None]:
    """Hold SIGINT and SIGTERM (their numbers go to `arrived`) until the block ends;
    the caller decides what an interrupt that arrived meanwhile means. Signal handlers
    belong to the main thread; elsewhere nothing is held."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {
        signum: signal.signal(signum, lambda number, _frame: arrived.append(number))
        for signum in HELD_SIGNALS
    }
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
