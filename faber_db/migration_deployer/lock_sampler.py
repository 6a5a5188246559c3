"""Sample the locks a migration takes, from a second connection, while it runs.

A migration in a transaction keeps every lock until COMMIT, so the rehearsal reads
them on its own connection before committing (rehearsal.StatementLog). A migration
without one (CREATE INDEX CONCURRENTLY, MySQL) releases each statement's locks when
it ends: those are seen only by looking from outside while it runs, every
POLL_SECONDS, so a statement shorter than that may show none.
"""

from __future__ import annotations

import threading

from faber_db.engines.base import Engine
from faber_db.errors import FaberError


class LockSampler:
    """Collect the relation locks session `db` holds, polled from a monitor connection."""

    POLL_SECONDS = 0.05

    def __init__(self, engine: Engine, db) -> None:
        self.engine = engine
        self.session = engine.session_id(db) if engine.reports_locks else None
        self.locks: dict[tuple, dict] = {}
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> LockSampler:
        if self.session is not None:
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _sample(self) -> None:
        try:
            monitor = self.engine.connect()
        except FaberError:  # the report is best effort; the rehearsal itself goes on
            return
        try:
            while not self._done.is_set():
                try:
                    found = self.engine.held_locks(monitor, self.session)
                except self.engine.error_types:
                    return
                for lock in found:
                    key = (lock["relation"], lock["mode"])
                    # granted once is granted: keep the best we saw
                    if key not in self.locks or lock["granted"]:
                        self.locks[key] = lock
                self._done.wait(self.POLL_SECONDS)
        finally:
            self.engine.abandon(monitor)
