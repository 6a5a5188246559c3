"""What every restore strategy provides, and the helpers they share: running the
engine's restore-backup handler, and naming scratch databases so that the next
run recognises (and removes) those a killed run left behind."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import socket
from abc import ABC, abstractmethod
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from faber_db.backup_manager.catalogue import BackupEntry
from faber_db.config import Config
from faber_db.credentials import secret_files
from faber_db.engines import engine_for
from faber_db.engines.base import Engine
from faber_db.errors import RestoreFailedError, ToolFailedError
from faber_db.handler_runner import HandlerCall, RunningHandler, handler_paths_env
from faber_db.result import Progress
from faber_db.workspace import (
    partial_workspace,
    process_alive,
    remove_stale_workspaces,
)

# check(engine bound to a staged copy): raise VerificationFailedError to stop before the swap
StagedCheck = Callable[[Engine], None]


@dataclass(frozen=True)
class BackupSource:
    """A verified backup file and how to read it."""

    entry: BackupEntry
    path: Path
    identity: Path | None = None  # the age identity file of an encrypted backup

    def handler_env(self) -> dict[str, str]:
        """FABER_FILE / FABER_FORMAT / FABER_COMPRESSION (/ FABER_AGE_IDENTITY) for a
        restore handler."""
        return handler_paths_env(
            file=self.path,
            format=self.entry.format,
            compression=self.entry.compression,
            age_identity=self.identity,
        )


@dataclass
class RestoreContext:
    """Where a restore keeps its state, and how it reports progress."""

    config: Config
    environment: str
    progress: Progress | None = None

    @property
    def work_root(self) -> Path:
        """Parent of the per-run private work directories (FIFOs, stream tails)."""
        return self.config.state_dir / "work"

    def notify(self, message: str) -> None:
        """Report progress, if anyone listens."""
        if self.progress is not None:
            self.progress(message)


class Restorer(ABC):
    """Base class of the per-engine strategies (each Engine names its own: Engine.restorer)."""

    engine_name: ClassVar[str]
    driver_errors: ClassVar[tuple[type[Exception], ...]]  # the database driver's errors
    # True when restore() compares every table's row count with the manifest on the
    # exact content it then swaps in or commits, so the target need not be recounted.
    counts_checked_before_swap: ClassVar[bool] = True

    def __init__(self, engine: Engine, context: RestoreContext) -> None:
        self.engine = engine
        self.context = context
        self.warnings: list[str] = []

    @property
    def database(self) -> str:
        """The database (or SQLite file) this restorer writes into."""
        return self.engine.conn.database

    def bound_to(self, database: str) -> Engine:
        """An engine on the same server for another database."""
        return engine_for(self.engine.conn.with_database(database))

    def target_exists(self) -> bool:
        """True when the target database exists."""
        return self.engine.database_exists(self.database)

    def prepare_target(self) -> bool:
        """Create the target when it does not exist; return True when created."""
        if self.target_exists():
            return False
        self.engine.create_database(self.database)
        return True

    def interrupted(self) -> bool:
        """True when a killed restore left work that recover() must finish before the
        target can be read (a swap journal). Engines whose restore is one atomic step
        (a transaction, a file rename) leave none."""
        return False

    @abstractmethod
    def recover(self, dry_run: bool = False) -> list[str]:
        """Finish or undo what an interrupted run left; with dry_run only describe it."""

    @abstractmethod
    def restore(self, source: BackupSource, check: StagedCheck) -> None:
        """Replace the target's content with the backup, atomically."""

    @abstractmethod
    def scratch_copy(
        self, source: BackupSource, name: str | None = None
    ) -> AbstractContextManager[Engine]:
        """Restore into a throwaway database (named `name`, else a deep verification's
        scratch name); yield an engine bound to it; drop it."""

    # -- shared helpers -------------------------------------------------------------
    def run_handler(self, env: dict[str, str], what: str) -> dict:
        """Run this engine's restore-backup handler with `env` (+ credentials, work dir)."""
        work_root = self.context.work_root
        work_root.mkdir(mode=0o700, parents=True, exist_ok=True)
        remove_stale_workspaces(work_root)
        with secret_files() as secrets, partial_workspace(work_root) as work:
            call_env = self.engine.handler_environment(secrets) | env
            call_env |= handler_paths_env(work_dir=work)
            running = RunningHandler(
                HandlerCall(
                    self.engine_name,
                    "restore-backup",
                    call_env,
                    self._secrets(),
                    pass_fds=tuple(secrets.fds),
                )
            )
            try:
                return running.wait(poll=lambda: self.context.notify(what))
            except ToolFailedError as error:
                raise RestoreFailedError(error.message, details=error.details) from None
            finally:
                running.kill()

    def _secrets(self) -> list[str]:
        return [self.engine.conn.password or ""]


SCRATCH_RE = re.compile(r"__faber_([rtv])(\d+)_([0-9a-f]{4})[0-9a-f]{6}$")


def host_tag() -> str:
    """4 hex digits naming this machine, so pids are compared only with our own."""
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:4]


def scratch_suffix(kind: str) -> str:
    """__faber_<kind><pid>_<host><token>: recognisable, and tied to this process."""
    return f"__faber_{kind}{os.getpid()}_{host_tag()}{secrets.token_hex(3)}"


def scratch_owner_gone(name: str) -> bool | None:
    """For a scratch name: True when its process is gone, False when it may be running,
    None when it is not ours (another machine) or not a scratch name."""
    match = SCRATCH_RE.search(name)
    if match is None or match.group(3) != host_tag():
        return None
    return not process_alive(int(match.group(2)))
