"""Run a migration's statements on an open DB-API connection, one by one, and
describe the first failure with its number, line, text and the database's
error. Connecting once and reusing the connection is what makes a deploy fast.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from faber_db.engines.base import Engine
from faber_db.errors import FaberError
from faber_db.sql.split import Statement

EXCERPT_CHARS = 400


@dataclass(frozen=True)
class StatementFailure:
    """Where a migration failed and what the database said."""

    number: int  # 1-based statement number
    total: int
    line: int
    end_line: int
    sql: str  # the statement, truncated
    code: str | None
    message: str
    lock_timeout: bool = False  # gave up waiting for a lock: nothing done, may be retried

    def to_dict(self) -> dict:
        """JSON form for results and logs."""
        return {
            "number": self.number,
            "of": self.total,
            "line": self.line,
            "end_line": self.end_line,
            "sql": self.sql,
            "database_error": {"code": self.code, "message": self.message},
        }

    def where(self) -> str:
        """'statement 2 of 5 (line 4 of migration.sql)'."""
        return f"statement {self.number} of {self.total} (line {self.line} of migration.sql)"


def run_statements(
    engine: Engine,
    db,
    statements: list[Statement],
    start: int = 0,
    on_statement: Callable[[Statement, float, int | None], None] | None = None,
) -> StatementFailure | None:
    """Execute each statement in order from index `start`; stop at the first error and
    describe it. `on_statement(statement, seconds, rows changed)` hears of each success."""
    for stmt in statements[start:]:
        clock = time.monotonic()
        try:
            rows = engine.execute(db, stmt.text)
            if on_statement is not None:
                on_statement(stmt, time.monotonic() - clock, rows)
        except engine.error_types as exc:
            code, message = engine.describe_error(exc)
            return StatementFailure(
                number=stmt.index + 1,
                total=len(statements),
                line=stmt.line,
                end_line=stmt.end_line,
                sql=excerpt(stmt.text),
                code=code,
                message=message,
                lock_timeout=engine.is_lock_timeout(exc),
            )
    return None


def excerpt(sql: str, limit: int = EXCERPT_CHARS) -> str:
    """The statement, cut at `limit` characters."""
    sql = sql.strip()
    return sql if len(sql) <= limit else sql[:limit].rstrip() + " ..."


def summary(sql: str, limit: int = 100) -> str:
    """One line: the statement with its whitespace collapsed, cut at `limit`."""
    flat = " ".join(sql.split())
    return flat if len(flat) <= limit else flat[: limit - 4].rstrip() + " ..."


@contextmanager
def database_errors(engine: Engine, doing: str, error=FaberError) -> Iterator[None]:
    """Turn a driver error raised while `doing` something into a FaberError."""
    try:
        yield
    except engine.error_types as exc:
        code, message = engine.describe_error(exc)
        label = f" [{code}]" if code else ""
        raise error(f"Database error while {doing}{label}: {message}") from None
