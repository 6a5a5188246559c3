"""One restore of an environment at a time, and finishing one that was killed.

Shared by the rollback manager (which restores) and the backup manager (a
backup waits for a running restore and finishes an interrupted one first, so
it never captures a half-restored database). Which interrupted work an engine
can leave is its restorer's knowledge (Restorer.interrupted).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from faber_db.config import Config, Target
from faber_db.engines import engine_for, restorer_for
from faber_db.engines.restorer import RestoreContext, Restorer
from faber_db.locks import file_lock
from faber_db.result import Progress

LOCK_TIMEOUT_SECONDS = 30.0


@contextmanager
def restore_lock(config: Config, env: str) -> Iterator[None]:
    """One restore (or recovery) of an environment at a time."""
    with file_lock(
        config.state_dir / f"restore.{env}.lock",
        LOCK_TIMEOUT_SECONDS,
        f"the restore lock of {env} (another restore or rollback of {env} is running)",
    ):
        yield


def restorer_of(config: Config, target: Target, progress: Progress | None) -> Restorer:
    """The restore strategy of `target`'s engine, bound to its database."""
    context = RestoreContext(config, target.environment, progress)
    return restorer_for(engine_for(target.conn), context)


def recover_interrupted(config: Config, target: Target) -> list[str]:
    """Finish or undo restores of `target`'s environment that a killed run left behind."""
    with restore_lock(config, target.environment):
        return restorer_of(config, target, None).recover()


def recover_before_backup(config: Config, target: Target) -> list[str]:
    """Wait for a running restore of the environment, and finish an interrupted
    swap, so a backup never captures a half-restored database. Leftover scratch
    databases are left to the next restore; this stays cheap when all is clean."""
    with restore_lock(config, target.environment):
        restorer = restorer_of(config, target, None)
        if not restorer.interrupted():
            return []
        return restorer.recover()
