"""Advisory file locks (fcntl.flock) with a bounded wait."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from faber_db.errors import LockTimeoutError


@contextmanager
def file_lock(path: Path, timeout: float = 60.0, what: str = "the lock") -> Iterator[None]:
    """Hold an exclusive flock on `path` (created if needed), waiting at most `timeout` s."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        _acquire(fd, timeout, path, what)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _acquire(fd: int, timeout: float, path: Path, what: str) -> None:
    deadline = time.monotonic() + timeout
    delay = 0.01
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise LockTimeoutError(
                    f"Timed out after {timeout:.0f}s waiting for {what} ({path}); another faber-db run holds it.",
                    suggestions=["Wait for the other run to finish, then retry"],
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.2)
