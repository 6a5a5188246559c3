"""One lock per environment for every command that changes it (issue 10, section 5).

migrate, resolve, restore, rollback and the automatic rollback of a failed
deploy all enter `lock_environment` before they change anything, so none of
them can run while another changes the same environment. It takes, in order:

 1. a file lock in the project's state directory (`change.<env>.lock`), which
    also covers a database that does not exist yet;
 2. the engine's deploy lock on a session of its own (`Engine.change_lock`):
    Prisma's advisory lock on PostgreSQL, a server-wide GET_LOCK named after
    the database on MySQL (it survives the restore's RENAME TABLE swap), the
    lock file beside the database on SQLite. `prisma migrate deploy` and
    faber-db runs from another checkout wait on it too.

Both waits share one deadline, `migrations.lock_timeout_seconds` (default 60);
past it the command stops with LOCK_TIMEOUT and nothing changed. The lock is
re-entrant within a process (the automatic rollback of a failed migrate
restores while migrate holds it), never across processes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

from faber_db.config import Config, Target
from faber_db.engines import engine_for
from faber_db.errors import LockTimeoutError
from faber_db.locks import file_lock

DEFAULT_LOCK_TIMEOUT = 60
WAITING_MESSAGE = "waiting for the lock of {env}"

_held: dict[tuple[str, str], int] = {}
_held_guard = threading.Lock()


def lock_timeout(config: Config) -> float:
    """migrations.lock_timeout_seconds (default 60): how long a change waits for the lock."""
    return float(config.section("migrations").get("lock_timeout_seconds", DEFAULT_LOCK_TIMEOUT))


@contextmanager
def lock_environment(
    config: Config,
    target: Target,
    progress: Callable[[str], None] | None = None,
    timeout: float | None = None,
) -> Iterator[None]:
    """Hold the change lock of `target`'s environment (see the module docstring).

    Raises LockTimeoutError (nothing changed) when another run holds it longer
    than `timeout` (default: migrations.lock_timeout_seconds)."""
    key = (str(config.state_dir), target.environment)
    if _enter_again(key):
        try:
            yield
        finally:
            _leave(key)
        return
    wait = lock_timeout(config) if timeout is None else timeout
    try:  # free in the usual case: say nothing about waiting
        held = _acquire(config, target, 0.0, None)
    except LockTimeoutError:
        if wait <= 0:
            raise
        held = _acquire(config, target, wait, progress)
    with held:
        _enter_first(key)
        try:
            yield
        finally:
            _leave(key)


def _acquire(
    config: Config, target: Target, wait: float, progress: Callable[[str], None] | None
) -> ExitStack:
    """Both locks, in an ExitStack the caller closes; a timeout says nothing changed."""
    env = target.environment
    deadline = time.monotonic() + wait
    if progress is not None:
        progress(WAITING_MESSAGE.format(env=env))
    stack = ExitStack()
    try:
        stack.enter_context(
            file_lock(
                config.state_dir / f"change.{env}.lock",
                wait,
                f"the lock of {env} (another migrate, resolve, restore or rollback of {env} "
                "is running)",
            )
        )
        stack.enter_context(
            engine_for(target.conn).change_lock(max(0.0, deadline - time.monotonic()))
        )
    except LockTimeoutError as error:
        stack.close()
        error.message += " Nothing was changed."
        error.suggestions = [
            "Wait for the other run to finish, then retry",
            f"faber-db status {env}",
        ]
        raise
    except BaseException:
        stack.close()
        raise
    return stack


def _enter_again(key: tuple[str, str]) -> bool:
    with _held_guard:
        if key not in _held:
            return False
        _held[key] += 1
        return True


def _enter_first(key: tuple[str, str]) -> None:
    with _held_guard:
        _held[key] = 1


def _leave(key: tuple[str, str]) -> None:
    with _held_guard:
        _held[key] -= 1
        if not _held[key]:
            del _held[key]
