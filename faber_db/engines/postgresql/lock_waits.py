"""PostgreSQL lock waits during a migration (issue 16): who blocks a session, and the
INVALID index a failed CREATE INDEX CONCURRENTLY leaves behind; for `health` (issue 15),
the open transactions that would block one, and whether pg_dump can dump the server."""

from __future__ import annotations

import re
from contextlib import suppress

# SQLSTATE 55P03 lock_not_available: lock_timeout expired (also NOWAIT).
LOCK_NOT_AVAILABLE = "55P03"

_IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
CREATE_INDEX_CONCURRENTLY = re.compile(
    rf"^\s*CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+(?:IF\s+NOT\s+EXISTS\s+)?"
    rf"(?P<name>{_IDENT})\s+ON\s+(?:ONLY\s+)?(?P<table>{_IDENT}(?:\s*\.\s*{_IDENT})?)",
    re.IGNORECASE,
)

BLOCKERS_SQL = """
SELECT a.pid, a.usename, EXTRACT(EPOCH FROM now() - a.xact_start)::float8, a.state,
       a.query, a.application_name
FROM pg_stat_activity a
WHERE a.pid = ANY (pg_blocking_pids(%s))
ORDER BY a.xact_start NULLS LAST"""

INVALID_INDEX_SQL = """
SELECT n.nspname, c.relname FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT i.indisvalid AND c.relname = %s AND i.indrelid = to_regclass(%s)"""

# A DROP INDEX CONCURRENTLY takes SHARE UPDATE EXCLUSIVE, which no query conflicts
# with, so it may wait longer than a migration statement for the sessions using the
# table: waiting does not stall anyone.
CLEAN_UP_WAIT_SECONDS = 30.0


def blockers(engine, monitor, pid: int | None) -> list[dict]:
    """The sessions pg_blocking_pids names for `pid`, with their open transaction."""
    if pid is None:
        return []
    return [
        {
            "pid": row[0],
            "user": row[1],
            "transaction_seconds": round(row[2], 1) if row[2] is not None else None,
            "state": row[3],
            "query": " ".join((row[4] or "").split())[:300],
            "application": row[5] or None,
        }
        for row in engine.query(monitor, BLOCKERS_SQL, (pid,))
    ]


def unquote(identifier: str) -> str:
    """An identifier as the catalogue stores it: quoted kept exact, bare folded."""
    identifier = identifier.strip()
    if identifier.startswith('"'):
        return identifier[1:-1].replace('""', '"')
    return identifier.lower()


def drop_invalid_index(engine, db, sql: str, lock_seconds: float | None) -> list[str]:
    """After a failed CREATE INDEX CONCURRENTLY: drop the INVALID index it left, if any."""
    match = CREATE_INDEX_CONCURRENTLY.match(sql)
    if match is None:
        return []
    from psycopg import sql as psql

    name, table = unquote(match["name"]), match["table"]
    rows = engine.query(db, INVALID_INDEX_SQL, (name, table))
    if not rows:
        return []
    schema, index = rows[0]
    wait = max(CLEAN_UP_WAIT_SECONDS, 5 * (lock_seconds or 0))
    engine.query(db, f"SET lock_timeout = {int(wait * 1000)}")
    try:
        db.execute(
            psql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}.{}").format(
                psql.Identifier(schema), psql.Identifier(index)
            )
        )
    except engine.error_types as exc:
        _, message = engine.describe_error(exc)
        return [
            f"the INVALID index {schema}.{index} left by the failed CREATE INDEX CONCURRENTLY "
            f"could not be dropped ({message.splitlines()[0]}): drop it with "
            f"DROP INDEX CONCURRENTLY IF EXISTS {engine.quote(schema)}.{engine.quote(index)}"
        ]
    finally:
        with suppress(*engine.error_types):
            engine.query(db, f"SET lock_timeout = {int((lock_seconds or 0) * 1000)}")
    return [
        f"dropped the INVALID index {schema}.{index} left by the failed CREATE INDEX CONCURRENTLY"
    ]


OPEN_TRANSACTIONS_SQL = """
SELECT a.pid, a.usename, EXTRACT(EPOCH FROM now() - a.xact_start)::float8, a.state, a.query
FROM pg_stat_activity a
WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
  AND a.xact_start IS NOT NULL AND a.backend_type = 'client backend'
ORDER BY a.xact_start"""


def open_transactions(engine, db) -> list[dict]:
    """Client sessions with a transaction open on the connected database, oldest first."""
    return [
        {
            "pid": row[0],
            "user": row[1],
            "transaction_seconds": round(row[2], 1) if row[2] is not None else None,
            "idle": str(row[3] or "").startswith("idle in transaction"),
            "state": row[3],
            "query": " ".join((row[4] or "").split())[:300],
        }
        for row in engine.query(db, OPEN_TRANSACTIONS_SQL)
    ]


def _major(version: str) -> int | None:
    match = re.match(r"\s*(\d+)", version)
    return int(match.group(1)) if match else None


def pg_dump_problem(tool_version: str, server_version: str) -> tuple[str, str] | None:
    """(why, fix) when pg_dump's major version is older than the server's."""
    tool, server = _major(tool_version), _major(server_version)
    if tool is None or server is None or tool >= server:
        return None
    return (
        f"pg_dump {tool_version} cannot back up a PostgreSQL {server_version} server "
        f"(pg_dump refuses servers of a newer major version)",
        f"apt-get install postgresql-client-{server}",
    )
