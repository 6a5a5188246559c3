"""Crash-safe file operations: atomic replace with fsync, directory fsync."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def fsync_directory(directory: Path) -> None:
    """Make a rename or unlink inside `directory` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, keep_previous: bool = False) -> None:
    """Replace `path` with `data` atomically: temp file, fsync, rename, fsync dir.

    With keep_previous, the old content stays readable as `<name>.prev`.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if keep_previous and path.exists():
            _replace_previous(path)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)


def _replace_previous(path: Path) -> None:
    # A hard link keeps `path` in place the whole time, so no crash leaves us without it.
    link = path.with_name(f".{path.name}.prev-{os.getpid()}-{secrets.token_hex(4)}")
    os.link(path, link)
    os.replace(link, path.with_name(path.name + ".prev"))
