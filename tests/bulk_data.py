"""Bulk rows for tests that need a dump to take a while or to fill a disk."""

from __future__ import annotations

import os

BULK_SQL = {
    "postgresql": [
        "CREATE TABLE bulk (id SERIAL PRIMARY KEY, payload TEXT)",
        "INSERT INTO bulk (payload) SELECT repeat(md5(g::text), 4) FROM generate_series(1, {rows}) g",
    ],
    "mysql": [
        "CREATE TABLE bulk (id INT AUTO_INCREMENT PRIMARY KEY, payload TEXT)",
        "INSERT INTO bulk (payload) SELECT REPEAT(MD5(seq), 4) FROM seq_1_to_{rows}",
    ],
    "sqlite": [
        "CREATE TABLE bulk (id INTEGER PRIMARY KEY, payload TEXT)",
        "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {rows})"
        " INSERT INTO bulk (payload) SELECT hex(randomblob(64)) FROM g",
    ],
}


def load_bulk(database, rows: int) -> None:
    """About 130 bytes of text per row."""
    database.script([sql.format(rows=rows) for sql in BULK_SQL[database.engine]])


def load_random_blobs(database, megabytes: int) -> None:
    """Incompressible data: `megabytes` MiB of random blobs."""
    blob_type = {"postgresql": "BYTEA", "mysql": "LONGBLOB", "sqlite": "BLOB"}[database.engine]
    p = "?" if database.engine == "sqlite" else "%s"
    db = database.connect()
    try:
        cursor = db.cursor()
        cursor.execute(f"CREATE TABLE blobs (id INTEGER PRIMARY KEY, data {blob_type})")
        for i in range(megabytes):
            cursor.execute(
                f"INSERT INTO blobs (id, data) VALUES ({p}, {p})", (i + 1, os.urandom(1024 * 1024))
            )
        cursor.close()
        if database.engine == "sqlite":
            db.commit()
    finally:
        db.close()
