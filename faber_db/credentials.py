"""Private files for secrets handed to native tools (PGPASSFILE, MySQL option files).

Passwords never go into a process's argv or into the environment: each run
writes them to a 0600 file inside a 0700 temporary directory, removed afterwards.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, quote_plus

# Every password faber-db has parsed in this process. Child processes never get
# an environment variable containing one, and messages are redacted with them.
_KNOWN_SECRETS: set[str] = set()


def remember_secret(secret: str | None, *written: str | None) -> None:
    """Record a password, in every encoding a URL may carry it, so that no child
    environment or message carries it: as decoded, as `written` (how the URL spelt
    it), and percent-encoded the usual ways (quote with and without safe
    characters, quote_plus, lower-case hex digits)."""
    if secret:
        _KNOWN_SECRETS.update(secret_encodings(secret))
    _KNOWN_SECRETS.update(form for form in written if form)


def secret_encodings(secret: str) -> set[str]:
    """`secret` raw and percent-encoded as URLs and form data spell it."""
    forms = {
        secret,
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret, safe=""),
        quote_plus(secret),
    }
    return forms | {_lower_hex(form) for form in forms}


def _lower_hex(text: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda match: match.group(0).lower(), text)


def known_secrets() -> list[str]:
    """Passwords seen so far in this process."""
    return sorted(_KNOWN_SECRETS, key=len, reverse=True)


def write_private_file(directory: Path, name: str, content: str) -> Path:
    """Create a new 0600 file (never following or replacing an existing one)."""
    path = directory / name
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(content)
    return path


class SecretFiles:
    """Files holding secrets for native tools, passed as /dev/fd/N paths.

    On Linux they live only in memory (memfd): nothing is written to disk, and
    the file vanishes with the last process holding it, even if faber-db is
    killed with SIGKILL. Elsewhere they fall back to 0600 files in a private
    0700 directory, removed on exit.
    """

    def __init__(self) -> None:
        self.fds: list[int] = []
        self.fallback_dir: Path | None = None

    def add(self, name: str, content: str) -> str:
        """Store `content`; return the path a child process opens it by."""
        if not hasattr(os, "memfd_create"):
            if self.fallback_dir is None:
                self.fallback_dir = Path(tempfile.mkdtemp(prefix="faber-db-"))
            return str(write_private_file(self.fallback_dir, name, content))
        fd = os.memfd_create(f"faber-db-{name}", 0)  # no MFD_CLOEXEC: the tools inherit it
        os.write(fd, content.encode("utf-8"))
        os.fchmod(fd, 0o600)  # libpq and the MySQL client ignore group/world-readable files
        self.fds.append(fd)
        return f"/dev/fd/{fd}"

    def close(self) -> None:
        """Release the in-memory files (or delete the fallback directory)."""
        for fd in self.fds:
            os.close(fd)
        self.fds.clear()
        if self.fallback_dir is not None:
            shutil.rmtree(self.fallback_dir, ignore_errors=True)
            self.fallback_dir = None


@contextmanager
def secret_files() -> Iterator[SecretFiles]:
    """SecretFiles for one run, released on exit."""
    files = SecretFiles()
    try:
        yield files
    finally:
        files.close()


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
