"""Rows of the Prisma-compatible tracking table, written exactly as Prisma's
sql_migration_persistence.rs writes them:

* start: INSERT id (uuid v4), checksum, started_at (now, UTC), migration_name;
* success: applied_steps_count + 1, finished_at = now;
* failure: logs = the error, finished_at stays NULL;
* resolve --rolled-back: rolled_back_at = now;
* resolve --applied: INSERT with logs '', started_at = finished_at = now.

The table name comes from config (validated against a strict pattern) and is
quoted by the engine; every value is a bound parameter.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime

from faber_db.engines.base import Engine, TrackedMigration
from faber_db.errors import InvalidInputError
from faber_db.timeutil import utcnow

TABLE_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class TrackingTable:
    """The tracking table of one connected database."""

    def __init__(self, engine: Engine, db, name: str) -> None:
        longest = engine.max_identifier_length
        if not TABLE_NAME_RE.match(name or "") or engine.identifier_length(name) > longest:
            raise InvalidInputError(
                f"Invalid migrations.table {name!r}: use letters, digits and '_' (at most {longest})."
            )
        self.engine = engine
        self.db = db
        self.name = name
        self._table = engine.quote(name)
        self._p = engine.placeholder

    def exists(self) -> bool:
        """True when the table exists."""
        return self.engine.table_exists(self.db, self.name)

    def read(self) -> list[TrackedMigration] | None:
        """All rows in started_at order; None when the table does not exist."""
        return self.engine.read_migrations(self.db, self.name)

    def create(self) -> None:
        """Create the table with Prisma's DDL."""
        self.engine.create_tracking_table(self.db, self.name)

    def record_started(self, name: str, checksum: str, started: datetime | None = None) -> str:
        """Insert the row of a migration that starts now; return its id."""
        row_id = str(uuid.uuid4())
        self._insert(
            ("id", "checksum", "started_at", "migration_name"),
            (row_id, checksum, self._time(started), name),
        )
        return row_id

    def record_success(self, row_id: str) -> None:
        """One more applied step, and finished_at = now."""
        p = self._p
        self._run(
            f"UPDATE {self._table} SET applied_steps_count = applied_steps_count + 1,"
            f" finished_at = {p} WHERE id = {p}",
            (self._time(), row_id),
        )

    def record_failure(self, row_id: str, logs: str) -> None:
        """Store the error in logs; finished_at stays NULL (Prisma's failed state)."""
        p = self._p
        self._run(f"UPDATE {self._table} SET logs = {p} WHERE id = {p}", (logs, row_id))

    def insert_failed(self, name: str, checksum: str, started: datetime, logs: str) -> str:
        """Insert the row of a migration that failed and was rolled back with its row."""
        row_id = str(uuid.uuid4())
        self._insert(
            ("id", "checksum", "started_at", "migration_name", "logs"),
            (row_id, checksum, self._time(started), name, logs),
        )
        return row_id

    def insert_applied(self, name: str, checksum: str) -> str:
        """Record a migration as applied without running it (resolve --applied)."""
        row_id, now = str(uuid.uuid4()), self._time()
        self._insert(
            ("id", "checksum", "logs", "started_at", "finished_at", "migration_name"),
            (row_id, checksum, "", now, now, name),
        )
        return row_id

    def mark_rolled_back(self, row_ids: list[str]) -> None:
        """rolled_back_at = now on these rows (resolve --rolled-back)."""
        p = self._p
        for row_id in row_ids:
            self._run(
                f"UPDATE {self._table} SET rolled_back_at = {p} WHERE id = {p}",
                (self._time(), row_id),
            )

    def delete_started(self, row_id: str) -> None:
        """Remove the row of a migration none of whose statements ran (a lock timeout
        on its first statement, retries spent): the table is as before the attempt."""
        self._run(f"DELETE FROM {self._table} WHERE id = {self._p}", (row_id,))

    def _insert(self, columns: tuple[str, ...], values: tuple) -> None:
        names = ", ".join(self.engine.quote(c) for c in columns)
        marks = ", ".join([self._p] * len(columns))
        self._run(f"INSERT INTO {self._table} ({names}) VALUES ({marks})", values)

    def _run(self, sql: str, params: tuple) -> None:
        self.engine.query(self.db, sql, params)

    def _time(self, moment: datetime | None = None):
        return self.engine.tracking_time(moment or utcnow())
