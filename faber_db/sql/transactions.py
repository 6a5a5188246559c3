"""Transaction rules: which statements an engine refuses inside a transaction block.

Apart from splitting (split.py): a dialect without such statements (MySQL, where
DDL commits implicitly, or any unknown dialect) simply has no entry here.
"""

from __future__ import annotations

from faber_db.sql.split import Statement, leading_words, normalize_dialect


def requires_no_transaction(
    stmt: Statement, dialect: str, server_version: tuple[int, ...] | None = None
) -> str | None:
    """Why the engine refuses stmt inside a transaction block, else None.

    PostgreSQL: CONCURRENTLY index work, VACUUM, database/tablespace DDL,
    ALTER SYSTEM, ALTER TYPE ... ADD VALUE before 12 (an unknown version is
    taken as 12 or later), CLUSTER without a table, and a few more. SQLite:
    VACUUM. MySQL: None (DDL commits implicitly instead).
    """
    dialect = normalize_dialect(dialect)
    reason_of = _REASONS_BY_DIALECT.get(dialect)
    if reason_of is None:  # MySQL, and any dialect without such statements
        return None
    return reason_of(stmt, dialect, server_version)


def _sqlite_reason(stmt: Statement, dialect: str, _version: tuple[int, ...] | None) -> str | None:
    words = leading_words(stmt.text, dialect)
    return "VACUUM cannot run inside a transaction" if words[:1] == ["VACUUM"] else None


def _postgresql_reason(
    stmt: Statement, dialect: str, server_version: tuple[int, ...] | None
) -> str | None:
    words = leading_words(stmt.text, dialect)
    if not words:
        return None
    for check in _PG_NO_TRANSACTION_CHECKS:
        reason = check(words, server_version)
        if reason:
            return reason
    return None


def _no_tx_index(words: list[str], _version: tuple[int, ...] | None) -> str | None:
    if words[0] == "CREATE" and "INDEX" in words[1:3]:
        after = words.index("INDEX") + 1
        if words[after : after + 1] == ["CONCURRENTLY"]:
            return "CREATE INDEX CONCURRENTLY cannot run inside a transaction block"
    if words[:3] == ["DROP", "INDEX", "CONCURRENTLY"]:
        return "DROP INDEX CONCURRENTLY cannot run inside a transaction block"
    return None


def _no_tx_reindex(words: list[str], _version: tuple[int, ...] | None) -> str | None:
    if words[0] != "REINDEX":
        return None
    rest = _skip_parenthesised(words, 1)
    if "CONCURRENTLY" in rest[:2]:
        return "REINDEX CONCURRENTLY cannot run inside a transaction block"
    if rest[:1] and rest[0] in ("SCHEMA", "DATABASE", "SYSTEM"):
        return f"REINDEX {rest[0]} cannot run inside a transaction block"
    return None


def _no_tx_simple(words: list[str], _version: tuple[int, ...] | None) -> str | None:
    head = " ".join(words[:2])
    if words[0] == "VACUUM":
        return "VACUUM cannot run inside a transaction block"
    if head in _PG_NO_TX_HEADS:
        return f"{head} cannot run inside a transaction block"
    if head in ("DISCARD ALL", "COMMIT PREPARED", "ROLLBACK PREPARED"):
        return f"{head} cannot run inside a transaction block"
    if head == "ALTER DATABASE" and words[3:5] == ["SET", "TABLESPACE"]:
        return "ALTER DATABASE ... SET TABLESPACE cannot run inside a transaction block"
    return None


_PG_NO_TX_HEADS = frozenset(
    {
        "CREATE DATABASE",
        "DROP DATABASE",
        "CREATE TABLESPACE",
        "DROP TABLESPACE",
        "ALTER SYSTEM",
        "CREATE SUBSCRIPTION",
        "DROP SUBSCRIPTION",
    }
)


def _no_tx_alter(words: list[str], version: tuple[int, ...] | None) -> str | None:
    old_server = version is not None and tuple(version) < (12,)
    if words[:2] == ["ALTER", "TYPE"] and _has_sequence(words, ["ADD", "VALUE"]) and old_server:
        return "ALTER TYPE ... ADD VALUE cannot run inside a transaction block before PostgreSQL 12"
    detach = words[:2] == ["ALTER", "TABLE"] and _has_sequence(words, ["DETACH", "PARTITION"])
    if detach and "CONCURRENTLY" in words:
        return "DETACH PARTITION CONCURRENTLY cannot run inside a transaction block"
    return None


def _no_tx_cluster(words: list[str], _version: tuple[int, ...] | None) -> str | None:
    if words[0] != "CLUSTER":
        return None
    rest = [w for w in _skip_parenthesised(words, 1) if w != "VERBOSE"]
    return "CLUSTER without a table cannot run inside a transaction block" if not rest else None


def _skip_parenthesised(words: list[str], i: int) -> list[str]:
    if words[i : i + 1] == ["("] and ")" in words[i:]:
        return words[words.index(")", i) + 1 :]
    return words[i:]


def _has_sequence(words: list[str], sequence: list[str]) -> bool:
    size = len(sequence)
    return any(words[i : i + size] == sequence for i in range(len(words) - size + 1))


_PG_NO_TRANSACTION_CHECKS = (
    _no_tx_index,
    _no_tx_reindex,
    _no_tx_simple,
    _no_tx_alter,
    _no_tx_cluster,
)

_REASONS_BY_DIALECT = {"postgresql": _postgresql_reason, "sqlite": _sqlite_reason}
