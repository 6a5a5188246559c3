"""sqlglot at arm's length: parse one statement, or say it was not understood.

sqlglot turns what it cannot parse into a ``Command`` (and logs a warning),
and a few statements into nonsense (``CLUSTER a`` becomes a column alias).
Only the statement types listed here count as parsed; everything else goes to
the keyword fallback. The "Falling back to parsing as a 'Command'" log lines
are filtered out because the checker reports those statements itself.
"""

from __future__ import annotations

import logging
from functools import cache

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import SqlglotError

SQLGLOT_DIALECTS = {"postgresql": "postgres", "mysql": "mysql", "sqlite": "sqlite"}

_STATEMENT_TYPES = (
    exp.Create,
    exp.Drop,
    exp.Alter,
    exp.Delete,
    exp.Update,
    exp.Insert,
    exp.Merge,
    exp.Query,
    exp.TruncateTable,
    exp.Comment,
    exp.Set,
    exp.Transaction,
    exp.Commit,
    exp.Rollback,
    exp.Grant,
    exp.Revoke,
    exp.Analyze,
    exp.Use,
    exp.Pragma,
    exp.Attach,
    exp.Detach,
)

_DDL_TYPES = (exp.Create, exp.Drop, exp.Alter, exp.TruncateTable)
_DML_TYPES = (exp.Insert, exp.Update, exp.Delete, exp.Merge)


class _CommandFallbackFilter(logging.Filter):
    """Drops sqlglot's 'unsupported syntax' warnings; we report those ourselves."""

    def filter(self, record: logging.LogRecord) -> bool:
        """False for the records to drop."""
        return "Falling back to parsing as a 'Command'" not in record.getMessage()


logging.getLogger("sqlglot").addFilter(_CommandFallbackFilter())


@cache
def _sqlglot_dialect(dialect: str) -> Dialect:
    """One sqlglot Dialect per engine: building it anew for each statement costs ~25%.
    A dialect faber-db does not know parses as sqlglot's generic SQL."""
    return Dialect.get_or_raise(SQLGLOT_DIALECTS.get(dialect))


def parse_statement(text: str, dialect: str) -> exp.Expression | None:
    """The parsed statement, or None when sqlglot did not really understand it."""
    try:
        parsed = [e for e in _sqlglot_dialect(dialect).parse(text) if e is not None]
    except (SqlglotError, RecursionError, ValueError):
        return None
    if len(parsed) != 1 or isinstance(parsed[0], exp.Command):
        return None
    return parsed[0] if isinstance(parsed[0], _STATEMENT_TYPES) else None


def statement_category(expr: exp.Expression) -> str:
    """ "ddl", "dml" (changes rows) or "other" for a parsed statement."""
    if isinstance(expr, _DDL_TYPES):
        return "ddl"
    if isinstance(expr, _DML_TYPES) or expr.find(*_DML_TYPES) is not None:
        return "dml"
    return "other"


def category_from_words(words: list[str]) -> str:
    """The same classification for an unparsed statement, from its first word."""
    head = words[0] if words else ""
    if head in ("CREATE", "ALTER", "DROP", "TRUNCATE", "RENAME"):
        return "ddl"
    if head in ("INSERT", "UPDATE", "DELETE", "REPLACE", "MERGE", "COPY", "LOAD"):
        return "dml"
    if head == "WITH" and any(w in ("INSERT", "UPDATE", "DELETE") for w in words):
        return "dml"
    return "other"
