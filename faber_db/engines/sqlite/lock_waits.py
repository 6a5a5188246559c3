"""SQLite lock waits during a migration (issue 16).

A SQLite database has one write lock, held by whichever connection writes; the
library cannot say who holds it. What can be said: which other processes have
the database file (or its journal / WAL) open, read from /proc where there is one."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

PROC = Path("/proc")


def is_busy(exc: BaseException) -> bool:
    """SQLITE_BUSY (and its extended codes): the busy timeout expired."""
    name = getattr(exc, "sqlite_errorname", None) or ""
    return name.startswith("SQLITE_BUSY") or "database is locked" in str(exc)


def file_holders(database: str) -> list[dict]:
    """Other processes with the database file or its -journal/-wal open."""
    if not PROC.is_dir():
        return []
    wanted = {str(Path(database).resolve()) + suffix for suffix in ("", "-journal", "-wal")}
    found = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        if _has_open(entry, wanted):
            found.append(_describe(entry))
    return found


def _has_open(process: Path, wanted: set[str]) -> bool:
    try:
        return any(os.readlink(fd) in wanted for fd in (process / "fd").iterdir())
    except OSError:  # gone meanwhile, or not ours to inspect
        return False


def _describe(process: Path) -> dict:
    try:
        command = (process / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        user = pwd.getpwuid(process.stat().st_uid).pw_name
    except (OSError, KeyError):
        command, user = "", None
    return {
        "pid": int(process.name),
        "user": user,
        "transaction_seconds": None,
        "state": "has the database file open",
        "query": " ".join(command.split())[:300],
    }
