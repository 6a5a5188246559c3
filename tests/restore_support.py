"""Helpers for the restore, rollback and deep-verify tests: a small schema with a
Prisma-style tracking table on every engine, changes made after a backup, full
row snapshots, and killing a faber-db run at a chosen moment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from faber_db.engines import engine_for

TRACKING = {
    "postgresql": "CREATE TABLE _prisma_migrations (id VARCHAR(36) PRIMARY KEY, checksum VARCHAR(64),"
    " finished_at TIMESTAMPTZ, migration_name VARCHAR(255), logs TEXT, rolled_back_at TIMESTAMPTZ,"
    " started_at TIMESTAMPTZ NOT NULL DEFAULT now(), applied_steps_count INTEGER NOT NULL DEFAULT 0)",
    "mysql": "CREATE TABLE _prisma_migrations (id VARCHAR(36) PRIMARY KEY, checksum VARCHAR(64),"
    " finished_at DATETIME(3), migration_name VARCHAR(255), logs TEXT, rolled_back_at DATETIME(3),"
    " started_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3), applied_steps_count INT NOT NULL DEFAULT 0)",
    "sqlite": "CREATE TABLE _prisma_migrations (id TEXT PRIMARY KEY, checksum TEXT, finished_at DATETIME,"
    " migration_name TEXT, logs TEXT, rolled_back_at DATETIME, started_at DATETIME NOT NULL"
    " DEFAULT current_timestamp, applied_steps_count INTEGER NOT NULL DEFAULT 0)",
}
SERIAL = {
    "postgresql": "SERIAL PRIMARY KEY",
    "mysql": "INT AUTO_INCREMENT PRIMARY KEY",
    "sqlite": "INTEGER PRIMARY KEY",
}
EXTRAS = {
    "postgresql": [
        "CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 10",
        "CREATE FUNCTION shout() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN NEW.name := upper(NEW.name); RETURN NEW; END $$",
        "CREATE TRIGGER customers_shout BEFORE INSERT ON customers FOR EACH ROW EXECUTE FUNCTION shout()",
    ],
    "mysql": [
        "CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 10",
        "CREATE TRIGGER customers_shout BEFORE INSERT ON customers FOR EACH ROW SET NEW.name = UPPER(NEW.name)",
        "CREATE FUNCTION answer() RETURNS INT DETERMINISTIC RETURN 42",
        "CREATE PROCEDURE count_orders() SELECT COUNT(*) FROM orders",
    ],
    "sqlite": [
        "CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 10",
        "CREATE TRIGGER customers_shout AFTER INSERT ON customers BEGIN"
        " UPDATE customers SET name = upper(name) WHERE id = NEW.id; END",
    ],
}


def tracked(engine: str, name: str, when: str) -> str:
    """INSERT of one applied migration into the tracking table."""
    return (
        "INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, started_at,"
        f" applied_steps_count) VALUES ('{name}', 'c0ffee', '{when}', '{name}', '{when}', 1)"
    )


def build_schema(database) -> None:
    """customers, orders (FK), notes, the tracking table with m1, and engine extras."""
    engine = database.engine
    database.script(
        [
            f"CREATE TABLE customers (id {SERIAL[engine]}, name VARCHAR(100) NOT NULL)",
            f"CREATE TABLE orders (id {SERIAL[engine]}, customer_id INT NOT NULL REFERENCES"
            " customers (id), total DECIMAL(10,2) NOT NULL)",
            "CREATE TABLE notes (id INT PRIMARY KEY, body TEXT)",
            TRACKING[engine],
            tracked(engine, "20240101000000_init", "2024-01-01 00:00:00"),
            "INSERT INTO customers (name) VALUES ('ada'), ('brian'), ('chen')",
            "INSERT INTO orders (customer_id, total) VALUES (1, 5.00), (1, 25.50), (2, 99.99)",
            "INSERT INTO notes (id, body) VALUES (1, 'keep me'), (2, 'me too')",
            *EXTRAS[engine],
        ]
    )


def change_everything(database) -> None:
    """Inserts, updates, a dropped table and an applied migration (a new table + its row)."""
    engine = database.engine
    database.script(
        [
            "INSERT INTO customers (name) VALUES ('dora')",
            "UPDATE orders SET total = total + 1",
            "DROP TABLE notes",
            "CREATE TABLE coupons (code VARCHAR(20) PRIMARY KEY, pct INT)",
            "INSERT INTO coupons VALUES ('SPRING', 10)",
            tracked(engine, "20240202000000_coupons", "2024-02-02 00:00:00"),
        ]
    )


def snapshot(database) -> dict[str, list]:
    """Every row of every table (sorted), to compare states exactly."""
    engine = engine_for(database.conn)
    with engine.session() as db:
        return {
            table: sorted(
                (
                    tuple(str(v) for v in row)
                    for row in engine.query(db, f"SELECT * FROM {engine.quote_table(table)}")
                ),
            )
            for table in engine.list_tables(db)
        }


def processes_of(parent_pid: int, marker: str) -> list[int]:
    """Pids of handler processes started by faber-db `parent_pid` whose command line has `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if f"FABER_PARENT_PID={parent_pid}".encode() in environ.split(b"\0") and marker in cmdline:
            found.append(int(entry.name))
    return found


def run_and_kill(
    project, args: list[str], ready: Callable[[int], bool], delay: float = 0.0, timeout: float = 90
) -> bool:
    """Run `faber-db ARGS`; SIGKILL it `delay` s after ready(pid) became true, if ready(pid)
    still holds then. True when it was killed at that moment."""
    process = subprocess.Popen(
        [sys.executable, "-m", "faber_db", *args, "--json"],
        cwd=project.root,
        env={**os.environ, **project.env},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    deadline = time.monotonic() + timeout
    try:
        while process.poll() is None and time.monotonic() < deadline:
            if ready(process.pid):
                time.sleep(delay)
                if process.poll() is not None or not ready(process.pid):
                    return False  # the moment passed before the kill
                os.kill(process.pid, signal.SIGKILL)
                process.wait()
                time.sleep(0.5)  # the handlers' watchdogs notice within 0.2 s
                return True
            time.sleep(0.02)
        if process.poll() is not None:  # it ended before the moment came: say how
            print("faber-db ended before the kill point:", process.stdout.read()[-2000:])
        return False
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def backup_id(project, env: str = "dev", *extra: str) -> str:
    """Take a backup through the CLI; return its id."""
    code, out = project.run_json("backup", env, *extra)
    assert code == 0, out
    return out["result"]["backup_id"]
