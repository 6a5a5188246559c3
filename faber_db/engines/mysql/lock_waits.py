"""MySQL/MariaDB lock waits during a migration (issue 16): who blocks a session.

DDL waits on metadata locks, which any open transaction that touched the table
holds until it ends. MariaDB's metadata_lock_info plugin names their holders
exactly; without it, the sessions with an open InnoDB transaction (innodb_trx,
joined to the processlist) are the candidates, and row-lock waits are named
exactly by innodb_lock_waits. `health` (issue 15) lists the same open transactions."""

from __future__ import annotations

from contextlib import suppress

# ER_LOCK_WAIT_TIMEOUT: lock_wait_timeout (metadata) or innodb_lock_wait_timeout (rows).
LOCK_WAIT_TIMEOUT_ERRNO = 1205

METADATA_HOLDERS_SQL = """
SELECT DISTINCT m.THREAD_ID FROM information_schema.METADATA_LOCK_INFO m
WHERE m.THREAD_ID <> %s AND (m.TABLE_SCHEMA, m.TABLE_NAME) IN (
    SELECT w.TABLE_SCHEMA, w.TABLE_NAME FROM information_schema.METADATA_LOCK_INFO w
    WHERE w.THREAD_ID = %s)"""

OPEN_TRANSACTIONS_SQL = """
SELECT p.ID, p.USER, TIMESTAMPDIFF(MICROSECOND, t.trx_started, NOW(6)) / 1e6,
       p.COMMAND, COALESCE(t.trx_query, p.INFO), p.DB
FROM information_schema.INNODB_TRX t
JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id
WHERE p.ID <> %s ORDER BY t.trx_started"""


def blockers(engine, monitor, thread_id: int | None) -> list[dict]:
    """The sessions that hold what `thread_id` waits for (see the module docstring)."""
    if thread_id is None:
        return []
    exact = _metadata_holders(engine, monitor, thread_id)
    rows = engine.query(monitor, OPEN_TRANSACTIONS_SQL, (thread_id,))
    found = [
        {
            "pid": int(row[0]),
            "user": row[1],
            "transaction_seconds": round(float(row[2]), 1) if row[2] is not None else None,
            "state": str(row[3]).lower() if row[3] else None,
            "query": " ".join(str(row[4] or "").split())[:300],
            "database": row[5],
        }
        for row in rows
    ]
    if exact:
        found = [b for b in found if b["pid"] in exact] or found
    return found


def _metadata_holders(engine, monitor, thread_id: int) -> set[int]:
    # The plugin is optional (INSTALL SONAME 'metadata_lock_info'); without it, None.
    with suppress(*engine.error_types):
        return {
            int(row[0])
            for row in engine.query(monitor, METADATA_HOLDERS_SQL, (thread_id, thread_id))
        }
    return set()


SCHEMA_TRANSACTIONS_SQL = """
SELECT p.ID, p.USER, TIMESTAMPDIFF(MICROSECOND, t.trx_started, NOW(6)) / 1e6,
       p.COMMAND, COALESCE(t.trx_query, p.INFO)
FROM information_schema.INNODB_TRX t
JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id
WHERE p.ID <> CONNECTION_ID() AND p.DB = DATABASE() ORDER BY t.trx_started"""


def open_transactions(engine, db) -> list[dict]:
    """Sessions using the connected schema with an InnoDB transaction open, oldest first
    (a session that sleeps with one open is idle in a transaction)."""
    return [
        {
            "pid": int(row[0]),
            "user": row[1],
            "transaction_seconds": round(float(row[2]), 1) if row[2] is not None else None,
            "idle": str(row[3] or "").lower() == "sleep",
            "state": str(row[3]).lower() if row[3] else None,
            "query": " ".join(str(row[4] or "").split())[:300],
        }
        for row in engine.query(db, SCHEMA_TRANSACTIONS_SQL)
    ]
