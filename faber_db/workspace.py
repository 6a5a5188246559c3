"""Scratch space for a run inside the backups directory (same filesystem, so the
finished backup is renamed into place atomically).

Each workspace is named .faber-partial-<pid>-<token>; a handler's watchdog
removes it if faber-db dies, and the next run removes any whose pid is gone.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PARTIAL_RE = re.compile(r"^\.faber-partial-(\d+)-[0-9a-f]+$")


@contextmanager
def partial_workspace(directory: Path) -> Iterator[Path]:
    """A private 0700 directory under `directory`, removed on exit whatever happens."""
    directory.mkdir(parents=True, exist_ok=True)
    work = directory / f".faber-partial-{os.getpid()}-{secrets.token_hex(6)}"
    work.mkdir(mode=0o700)
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def remove_stale_workspaces(directory: Path) -> list[str]:
    """Remove workspaces left by runs that no longer exist; return their names."""
    removed = []
    if not directory.is_dir():
        return removed
    for child in directory.iterdir():
        match = PARTIAL_RE.match(child.name)
        if match and not process_alive(int(match.group(1))):
            shutil.rmtree(child, ignore_errors=True)
            removed.append(child.name)
    return removed


def process_alive(pid: int) -> bool:
    """True when a process with this pid exists on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
