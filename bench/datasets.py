"""Realistic benchmark data sets (customers, orders, events) of a chosen size,
generated inside the server so building 200+ MB takes a minute, not an hour.

    build_dataset(engine, url, target_mb) -> {"rows": {...}, "bytes": N}

Text is semi-natural (words plus ids), so it compresses about as well as real
application data; ids, numbers and timestamps vary per row.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from faber_db.engines import engine_for  # noqa: E402
from faber_db.urls import parse_url  # noqa: E402

# Rows per MB of raw data, measured on PostgreSQL (customers ~260 B, orders ~110 B, events ~330 B).
ROWS_PER_MB = {"customers": 1100, "orders": 3300, "events": 900}
WORDS = (
    "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt labore"
)

POSTGRES = [
    "CREATE TABLE customers (id BIGSERIAL PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT NOT NULL,"
    " country CHAR(2), created_at TIMESTAMPTZ NOT NULL, bio TEXT)",
    "INSERT INTO customers (email, name, country, created_at, bio) SELECT 'user' || g || '@example.com',"
    " 'Customer ' || g, (ARRAY['US','DE','FR','BR','JP','IN'])[1 + g % 6], now() - (g || ' minutes')::interval,"
    f" md5(g::text) || ' {WORDS} ' || md5((g * 7)::text) || ' ' || substr('{WORDS}', 1 + g % 40)"
    " FROM generate_series(1, {customers}) g",
    "CREATE TABLE orders (id BIGSERIAL PRIMARY KEY, customer_id BIGINT NOT NULL REFERENCES customers(id),"
    " status TEXT NOT NULL, total NUMERIC(12,2) NOT NULL, created_at TIMESTAMPTZ NOT NULL, note TEXT)",
    "INSERT INTO orders (customer_id, status, total, created_at, note) SELECT 1 + g % {customers},"
    " (ARRAY['new','paid','shipped','returned'])[1 + g % 4], (g % 100000) / 100.0,"
    " now() - (g || ' seconds')::interval, CASE WHEN g % 5 = 0 THEN 'gift wrap ' || g END"
    " FROM generate_series(1, {orders}) g",
    "CREATE INDEX orders_customer_idx ON orders (customer_id)",
    "CREATE TABLE events (id BIGSERIAL PRIMARY KEY, customer_id BIGINT, kind TEXT, payload JSONB)",
    "INSERT INTO events (customer_id, kind, payload) SELECT 1 + g % {customers}, 'page_view',"
    " jsonb_build_object('path', '/products/' || (g % 5000), 'ref', md5(g::text), 'ua',"
    f" '{WORDS}', 'n', g) FROM generate_series(1, {{events}}) g",
    "ANALYZE",
]

MYSQL = [
    "CREATE TABLE customers (id BIGINT AUTO_INCREMENT PRIMARY KEY, email VARCHAR(200) NOT NULL UNIQUE,"
    " name VARCHAR(200) NOT NULL, country CHAR(2), created_at DATETIME NOT NULL, bio TEXT)",
    "INSERT INTO customers (email, name, country, created_at, bio) SELECT CONCAT('user', seq, '@example.com'),"
    " CONCAT('Customer ', seq), ELT(1 + seq % 6, 'US','DE','FR','BR','JP','IN'), NOW() - INTERVAL seq MINUTE,"
    f" CONCAT(MD5(seq), ' {WORDS} ', MD5(seq * 7), ' ', SUBSTR('{WORDS}', 1 + seq % 40))"
    " FROM seq_1_to_{customers}",
    "CREATE TABLE orders (id BIGINT AUTO_INCREMENT PRIMARY KEY, customer_id BIGINT NOT NULL, status VARCHAR(20)"
    " NOT NULL, total DECIMAL(12,2) NOT NULL, created_at DATETIME NOT NULL, note TEXT,"
    " FOREIGN KEY (customer_id) REFERENCES customers(id))",
    "INSERT INTO orders (customer_id, status, total, created_at, note) SELECT 1 + seq % {customers},"
    " ELT(1 + seq % 4, 'new','paid','shipped','returned'), (seq % 100000) / 100.0, NOW() - INTERVAL seq SECOND,"
    " IF(seq % 5 = 0, CONCAT('gift wrap ', seq), NULL) FROM seq_1_to_{orders}",
    "CREATE TABLE events (id BIGINT AUTO_INCREMENT PRIMARY KEY, customer_id BIGINT, kind VARCHAR(40), payload JSON)",
    "INSERT INTO events (customer_id, kind, payload) SELECT 1 + seq % {customers}, 'page_view',"
    " JSON_OBJECT('path', CONCAT('/products/', seq % 5000), 'ref', MD5(seq), 'ua',"
    f" '{WORDS}', 'n', seq) FROM seq_1_to_{{events}}",
]

SQLITE = [
    "CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT NOT NULL,"
    " country TEXT, created_at TEXT NOT NULL, bio TEXT)",
    "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {customers})"
    " INSERT INTO customers (email, name, country, created_at, bio) SELECT 'user' || n || '@example.com',"
    " 'Customer ' || n, substr('USDEFRBRJPIN', 1 + (n % 6) * 2, 2), datetime('now', '-' || n || ' minutes'),"
    f" hex(randomblob(16)) || ' {WORDS} ' || hex(randomblob(16)) || ' ' || substr('{WORDS}', 1 + n % 40)"
    " FROM g",
    "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id),"
    " status TEXT NOT NULL, total REAL NOT NULL, created_at TEXT NOT NULL, note TEXT)",
    "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {orders})"
    " INSERT INTO orders (customer_id, status, total, created_at, note) SELECT 1 + n % {customers},"
    " CASE n % 4 WHEN 0 THEN 'new' WHEN 1 THEN 'paid' WHEN 2 THEN 'shipped' ELSE 'returned' END,"
    " (n % 100000) / 100.0, datetime('now', '-' || n || ' seconds'),"
    " CASE WHEN n % 5 = 0 THEN 'gift wrap ' || n END FROM g",
    "CREATE INDEX orders_customer_idx ON orders (customer_id)",
    "CREATE TABLE events (id INTEGER PRIMARY KEY, customer_id INTEGER, kind TEXT, payload TEXT)",
    "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {events})"
    " INSERT INTO events (customer_id, kind, payload) SELECT 1 + n % {customers}, 'page_view',"
    " json_object('path', '/products/' || (n % 5000), 'ref', hex(randomblob(16)), 'ua',"
    f" '{WORDS}', 'n', n) FROM g",
]

STATEMENTS = {"postgresql": POSTGRES, "mysql": MYSQL, "sqlite": SQLITE}


def row_counts(target_mb: int) -> dict[str, int]:
    """Rows per table for a data set of about target_mb megabytes."""
    return {table: per_mb * target_mb for table, per_mb in ROWS_PER_MB.items()}


def build_dataset(engine: str, url: str, target_mb: int) -> dict:
    """Fill an empty database with ~target_mb MB; return row counts and its size."""
    rows = row_counts(target_mb)
    statements = [sql.format(**rows) for sql in STATEMENTS[engine]]
    conn = parse_url(url)
    if engine == "sqlite":
        db = sqlite3.connect(conn.database)
        for sql in statements:
            db.execute(sql)
        db.commit()
        db.close()
    else:
        eng = engine_for(conn)
        with eng.session() as db:
            for sql in statements:
                eng.query(db, sql)
    eng = engine_for(conn)
    with eng.session() as db:
        return {"rows": rows, "bytes": eng.database_size(db)}
