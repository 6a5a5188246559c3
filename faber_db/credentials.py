"""Private files for secrets handed to native tools (PGPASSFILE, MySQL option files).

Passwords never go into a process's argv or into the environment: each run
writes them to a 0600 file inside a 0700 temporary directory, removed afterwards.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def private_directory() -> Iterator[Path]:
    """A 0700 temporary directory, removed with everything in it on exit."""
    path = Path(tempfile.mkdtemp(prefix="faber-db-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def write_private_file(directory: Path, name: str, content: str) -> Path:
    """Create a new 0600 file (never following or replacing an existing one)."""
    path = directory / name
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(content)
    return path


def pgpass_line(user: str, password: str) -> str:
    """A .pgpass line matching any host, port and database for this user."""

    def escape(value: str) -> str:
        return value.replace("\\", "\\\\").replace(":", "\\:")

    return f"*:*:*:{escape(user)}:{escape(password)}\n"


def mysql_option_value(value: str) -> str:
    """Quote a value for a MySQL/MariaDB option file."""
    escaped = value.replace("\\", "\\\\")
    quote = "'" if '"' in escaped else '"'
    return f"{quote}{escaped}{quote}"
