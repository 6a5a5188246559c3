"""Answer the safety validator's impact questions from the live database.

Tables that do not exist yet (created by an earlier pending migration) and
columns that are not there yet answer None: the impact is unknown, never zero.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from faber_db.engines.base import Engine

log = logging.getLogger("faber_db.safety")


class LiveProbe:
    """An ImpactProbe (safety.impact) backed by one open connection."""

    def __init__(self, engine: Engine, db) -> None:
        self.engine = engine
        self.db = db

    def row_count(self, table: str) -> int | None:
        """Exact rows in table."""
        return self._scalar(f"SELECT COUNT(*) FROM {self._table(table)}")

    def null_count(self, table: str, column: str) -> int | None:
        """Rows where column IS NULL."""
        return self._scalar(
            f"SELECT COUNT(*) FROM {self._table(table)} WHERE {self.engine.quote(column)} IS NULL"
        )

    def table_size_bytes(self, table: str) -> int | None:
        """Table plus indexes, in bytes."""
        try:
            return self.engine.table_size(self.db, table)
        except self.engine.error_types as exc:
            log.info("table size of %s unknown: %s", table, exc)
            return None

    def duplicate_count(self, table: str, columns: Sequence[str]) -> int | None:
        """Rows a new UNIQUE or PRIMARY KEY on these columns would reject."""
        cols = ", ".join(self.engine.quote(c) for c in columns)
        non_null = " AND ".join(f"{self.engine.quote(c)} IS NOT NULL" for c in columns)
        return self._scalar(
            f"SELECT COALESCE(SUM(n - 1), 0) FROM (SELECT COUNT(*) AS n FROM {self._table(table)}"
            f" WHERE {non_null} GROUP BY {cols} HAVING COUNT(*) > 1) AS dups"
        )

    def _scalar(self, sql: str) -> int | None:
        try:
            rows = self.engine.query(self.db, sql)
        except self.engine.error_types as exc:
            log.info("impact query failed (%s): %s", sql, exc)
            return None
        return int(rows[0][0]) if rows and rows[0][0] is not None else None

    def _table(self, table: str) -> str:
        return self.engine.quote_table(table)
