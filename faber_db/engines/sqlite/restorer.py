"""SQLite: restore into a new file BESIDE the target, check it, then copy it into
the live database through SQLite's online backup API in one step.

Why not os.rename over the target: connections that are already open keep
reading the old inode forever, and a -wal file left beside the target could be
replayed onto the new file. The backup API writes the live file under SQLite's
own locks and journal (or WAL), so other connections see the old content or the
new, and a crash mid-copy leaves a hot journal that rolls back on next open.
A rename is used only when there is no database to protect (the target is
missing or is not a SQLite file). Staged files of a killed run are removed the
next time.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from faber_db.engines.base import Engine
from faber_db.engines.restorer import BackupSource, Restorer, StagedCheck
from faber_db.handler_runner import handler_paths_env
from faber_db.workspace import partial_workspace, process_alive

STAGED_MARK = ".faber-restore-"
COMPANIONS = ("", "-journal", "-wal", "-shm")


class SQLiteRestorer(Restorer):
    """Stage beside the target, verify the staged copy, install it with the backup API."""

    engine_name = "sqlite"
    driver_errors = (sqlite3.Error,)

    @property
    def target(self) -> Path:
        """The live database file."""
        return Path(self.database)

    def prepare_target(self) -> bool:
        """Make the directory; the file itself is created by the install step."""
        self.target.parent.mkdir(parents=True, exist_ok=True)
        return False

    def restore(self, source: BackupSource, check: StagedCheck) -> None:
        """Stage, check, then install into the live file."""
        staged = self.target.with_name(
            f".{self.target.name}{STAGED_MARK}{os.getpid()}-{secrets.token_hex(4)}"
        )
        try:
            self._stage(source, staged)
            check(self.bound_to(str(staged)))
            self.run_handler(
                handler_paths_env(step="install", source=staged, sqlite_path=self.target),
                "copying into the live database",
            )
        finally:
            _remove(staged)

    @contextmanager
    def scratch_copy(self, source: BackupSource, name: str | None = None) -> Iterator[Engine]:
        """Restore into a file (`name`.sqlite3, else verify.sqlite3) in a private work
        directory, which a later run removes if this one is killed; yield it; delete it."""
        root = self.context.work_root
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        with partial_workspace(root) as work:
            staged = work / f"{name or 'verify'}.sqlite3"
            self._stage(source, staged)
            yield self.bound_to(str(staged))

    def recover(self, dry_run: bool = False) -> list[str]:
        """Remove staged files beside the target whose run is gone."""
        notes = []
        directory = self.target.parent
        if not directory.is_dir():
            return notes
        prefix = f".{self.target.name}{STAGED_MARK}"
        for path in sorted(directory.glob(prefix + "*")):
            pid = path.name[len(prefix) :].split("-", 1)[0]
            if not pid.isdigit() or process_alive(int(pid)):
                continue
            if not dry_run:
                _remove(path)
            notes.append(
                f"{'would remove' if dry_run else 'removed'} {path.name}, left by an interrupted restore"
            )
        return notes

    def _stage(self, source: BackupSource, staged: Path) -> None:
        self.run_handler(
            source.handler_env() | handler_paths_env(step="load", output=staged),
            "restoring into a staged copy",
        )


def _remove(path: Path) -> None:
    for suffix in COMPANIONS:
        Path(str(path) + suffix).unlink(missing_ok=True)
