"""Lock waits that cannot stall production (issue 16, part 2).

A migration statement waits at most `migrations.lock_wait_seconds` for a lock
(default 2 s on protected environments), so the queries that queue behind it
are held no longer than that. A lock timeout is then retried up to
`migrations.lock_retries` times (default 5) after a growing pause (0.5 s,
doubling, capped at 8 s, +-20 % jitter so two deploys do not retry in step).
While a retried statement waits, a watcher on a second connection asks the
engine who blocks it, so that when the retries are spent the error names them.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass

from faber_db.config import Config
from faber_db.engines.base import Engine
from faber_db.errors import FaberError

DEFAULT_PROTECTED_LOCK_WAIT = 2.0
DEFAULT_LOCK_RETRIES = 5
DEFAULT_FIRST_PAUSE = 0.5
DEFAULT_MAX_PAUSE = 8.0
JITTER = 0.2


def lock_wait_seconds(config: Config, env: str) -> float | None:
    """migrations.lock_wait_seconds; 2 on a protected environment that sets none."""
    configured = config.section("migrations").get("lock_wait_seconds")
    if configured is not None:
        return float(configured)
    return DEFAULT_PROTECTED_LOCK_WAIT if config.is_protected(env) else None


@dataclass(frozen=True)
class LockRetry:
    """How often and after which pauses a lock timeout is retried."""

    retries: int = DEFAULT_LOCK_RETRIES
    first_pause: float = DEFAULT_FIRST_PAUSE
    max_pause: float = DEFAULT_MAX_PAUSE
    lock_wait: float | None = None

    @classmethod
    def from_config(cls, config: Config, env: str) -> LockRetry:
        """migrations.lock_retries, lock_retry_pause_seconds, lock_retry_max_pause_seconds."""
        section = config.section("migrations")
        return cls(
            retries=int(section.get("lock_retries", DEFAULT_LOCK_RETRIES)),
            first_pause=float(section.get("lock_retry_pause_seconds", DEFAULT_FIRST_PAUSE)),
            max_pause=float(section.get("lock_retry_max_pause_seconds", DEFAULT_MAX_PAUSE)),
            lock_wait=lock_wait_seconds(config, env),
        )

    def pause(self, retry: int) -> float:
        """Seconds to wait before retry number `retry` (1-based)."""
        base = min(self.max_pause, self.first_pause * 2 ** (retry - 1))
        return max(0.0, base * random.uniform(1 - JITTER, 1 + JITTER))


class BlockerWatch:
    """While a statement may wait for a lock, ask (from a second connection) who
    blocks it; keeps the last non-empty answer. A no-op unless started."""

    POLL_SECONDS = 0.2

    def __init__(self, engine: Engine, db, delay: float) -> None:
        self.engine = engine
        self.delay = delay
        self.session = engine.session_id(db) if engine.lock_blockers_need_monitor else None
        self.blockers: list[dict] = []
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> BlockerWatch:
        if self.engine.lock_blockers_need_monitor:
            self._thread = threading.Thread(target=self._watch, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if not self.engine.lock_blockers_need_monitor and not self.blockers:
            self.blockers = self._ask(None)

    def _watch(self) -> None:
        # Only a statement still running after `delay` is waiting long enough to ask.
        if self._done.wait(self.delay):
            return
        try:
            monitor = self.engine.connect()
        except FaberError:  # naming blockers is best effort; the timeout is reported anyway
            return
        try:
            while not self._done.is_set():
                found = self._ask(monitor)
                if found:
                    self.blockers = found
                self._done.wait(self.POLL_SECONDS)
        finally:
            self.engine.abandon(monitor)

    def _ask(self, monitor) -> list[dict]:
        try:
            return self.engine.lock_blockers(monitor, self.session)
        except self.engine.error_types:
            return []


def sleep(seconds: float) -> None:
    """The pause between tries (a function, so tests can see it is taken)."""
    time.sleep(seconds)
