"""SQLite through the standard library's sqlite3 module (nothing to install)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from faber_db.credentials import SecretFiles
from faber_db.engines.base import Engine
from faber_db.errors import ConnectionFailedError, DatabaseNotFoundError, InvalidInputError
from faber_db.locks import file_lock

SQLITE_HEADER = b"SQLite format 3\x00"


class SQLiteEngine(Engine):
    """SQLite 3 files; `database` is the file's absolute path."""

    name = "sqlite"
    sqlglot_dialect = "sqlite"
    prisma_provider = "sqlite"
    restorer = ("faber_db.engines.sqlite.restorer", "SQLiteRestorer")
    introspection_module = "faber_db.engines.sqlite.introspection"
    url_schemes = ("sqlite",)
    file_database = True
    default_dev_url = "sqlite:///dev.db"
    backup_formats = ("custom", "sql")
    file_extensions = {"custom": ".sqlite3", "sql": ".sql"}
    format_descriptions = {"custom": "database file", "sql": "SQL dump"}
    placeholder = "?"

    @classmethod
    def restore_target(
        cls, name: str, project_root: Path, private_dirs: tuple[Path, ...] = ()
    ) -> str:
        """The absolute path of the --into file: a relative path stays inside the
        project (after following symlinks); faber-db's own folders (backups, state),
        directories and files that are not SQLite databases are refused."""
        written = Path(name)
        try:
            path = (written if written.is_absolute() else project_root / written).resolve()
            inside = path.is_relative_to(project_root.resolve())
            private = [d for d in private_dirs if path.is_relative_to(d.resolve())]
            is_dir = path.is_dir()
        except (OSError, RuntimeError, ValueError) as exc:
            raise InvalidInputError(f"--into {name!r} is not a usable path ({exc}).") from None
        if not written.is_absolute() and not inside:
            raise InvalidInputError(
                f"--into {name!r} leaves the project ({project_root}); a relative path must "
                "stay inside it (give an absolute path to mean a file elsewhere)."
            )
        if private:
            raise InvalidInputError(
                f"--into {name!r} is inside {private[0]}, faber-db's own folder (backups, "
                "journals); a restore never writes there."
            )
        if is_dir or (path.exists() and not is_sqlite_file(path)):
            raise InvalidInputError(
                f"--into {name!r} exists and is not a SQLite database file; faber-db will not "
                "overwrite it."
            )
        return str(path)

    def connect(self, database: str | None = None):
        """Open an existing database file read-write (never creates one by accident);
        a file that is not a SQLite database is refused here, before any use."""
        path = Path(database or self.conn.database)
        if not path.is_file():
            raise DatabaseNotFoundError(
                f"SQLite database file {path} does not exist.",
                suggestions=["faber-db db-create <env>"],
            )
        db = None
        try:
            db = sqlite3.connect(f"file:{path}?mode=rw", uri=True, isolation_level=None, timeout=30)
            db.execute("PRAGMA foreign_keys = ON")
            db.execute("SELECT COUNT(*) FROM sqlite_master")  # reads the header
            return db
        except sqlite3.Error as exc:
            if db is not None:
                db.close()
            raise ConnectionFailedError(
                f"Cannot open SQLite database {path}: {exc}. Nothing was changed.",
                suggestions=[
                    f"Check the path: {path} must be a SQLite database file (the environment's "
                    "URL, or --into)"
                ],
            ) from None

    def server_version(self, db) -> str:
        """The SQLite library version."""
        return self.query(db, "SELECT sqlite_version()")[0][0]

    def list_tables(self, db) -> list[str]:
        """Tables, without SQLite's internal ones."""
        rows = self.query(
            db,
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
            " ORDER BY name",
        )
        return [row[0] for row in rows]

    def quote_table(self, table: str) -> str:
        """SQLite table names are never schema-qualified: a '.' is part of the name."""
        return self.quote(table)

    def schema_objects(self, db) -> list[str]:
        """CREATE statements as SQLite stored them."""
        rows = self.query(
            db,
            "SELECT type, name, tbl_name, sql FROM sqlite_master"
            " WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND sql IS NOT NULL",
        )
        return [" ".join(" ".join(str(v).split()) for v in row) for row in rows]

    def table_definitions(self, db) -> list[tuple[str, str]]:
        """Each table's CREATE statement and those of its indexes and triggers."""
        rows = self.query(
            db,
            "SELECT tbl_name, type || ' ' || sql FROM sqlite_master"
            " WHERE type IN ('table', 'index', 'trigger') AND sql IS NOT NULL"
            " AND tbl_name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
        )
        return [(row[0], row[1]) for row in rows]

    def table_size(self, db, table: str) -> int | None:
        """Pages of the table and its indexes, through the dbstat table when compiled in."""
        try:
            rows = self.query(
                db,
                "SELECT SUM(pgsize) FROM dbstat WHERE name = ? OR name IN"
                " (SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?)",
                (table, table),
            )
        except sqlite3.OperationalError:  # SQLite built without SQLITE_ENABLE_DBSTAT_VTAB
            return None
        return int(rows[0][0]) if rows and rows[0][0] is not None else None

    def database_size(self, db) -> int:
        """page_count * page_size."""
        return int(
            self.query(
                db, "SELECT page_count * page_size FROM pragma_page_count, pragma_page_size"
            )[0][0]
        )

    def database_exists(self, name: str) -> bool:
        """The file exists."""
        return Path(name).is_file()

    def create_database(self, name: str) -> None:
        """Create an empty SQLite file (and its directory)."""
        path = Path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        sqlite3.connect(path).close()

    def drop_database(self, name: str) -> None:
        """Delete the file and its -wal/-shm/-journal companions."""
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(name + suffix).unlink(missing_ok=True)

    def table_exists(self, db, table: str) -> bool:
        """Table in sqlite_master."""
        return bool(
            self.query(db, "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (table,))
        )

    def tracking_table_ddl(self, table: str) -> str:
        """Prisma's SQLite DDL (sql-schema-connector flavour/sqlite.rs)."""
        return f"""CREATE TABLE {self.quote(table)} (
    "id"                    TEXT PRIMARY KEY NOT NULL,
    "checksum"              TEXT NOT NULL,
    "finished_at"           DATETIME,
    "migration_name"        TEXT NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        DATETIME,
    "started_at"            DATETIME NOT NULL DEFAULT current_timestamp,
    "applied_steps_count"   INTEGER UNSIGNED NOT NULL DEFAULT 0
)"""

    def tracking_time(self, moment: datetime) -> int:
        """Prisma (quaint) binds timestamps on SQLite as Unix epoch milliseconds."""
        return int(moment.timestamp() * 1000)

    @property
    def error_types(self) -> tuple[type[BaseException], ...]:
        """sqlite3.Error."""
        return (sqlite3.Error,)

    def describe_error(self, exc: BaseException) -> tuple[str | None, str]:
        """SQLite's error name (e.g. SQLITE_CONSTRAINT_UNIQUE) and message."""
        return getattr(exc, "sqlite_errorname", None), str(exc).strip()

    def set_migration_timeouts(
        self, db, statement_seconds: float | None, lock_seconds: float | None
    ) -> list[str]:
        """busy_timeout for the lock wait; a progress handler interrupts a statement
        that runs longer than statement_seconds (SQLite reports it as interrupted)."""
        if lock_seconds is not None:
            self.query(db, f"PRAGMA busy_timeout = {int(lock_seconds * 1000)}")
        self._statement_limit = statement_seconds
        if statement_seconds is not None:
            db.set_progress_handler(self._over_time, 10_000)
        return []

    def is_lock_timeout(self, exc: BaseException) -> bool:
        """SQLITE_BUSY: another connection held the write lock past busy_timeout."""
        from faber_db.engines.sqlite import lock_waits

        return lock_waits.is_busy(exc)

    lock_blockers_need_monitor = False

    def lock_blockers(self, monitor, session: int | None) -> list[dict]:
        """The other processes that have the database file open (SQLite cannot say which
        connection holds its write lock)."""
        from faber_db.engines.sqlite import lock_waits

        return lock_waits.file_holders(self.conn.database)

    def execute(self, db, sql: str) -> int | None:
        """Run one statement, timing it against the statement limit."""
        self._statement_started = time.monotonic()
        return super().execute(db, sql)

    def _over_time(self) -> int:
        started = getattr(self, "_statement_started", None)
        limit = getattr(self, "_statement_limit", None)
        return int(limit is not None and started is not None and time.monotonic() - started > limit)

    def begin(self, db, statements=()) -> None:
        """BEGIN IMMEDIATE (takes the write lock at once).

        `PRAGMA foreign_keys` is a no-op inside a transaction, so when the
        migration turns foreign keys off (Prisma's table redefinitions do, so
        that DROP TABLE does not cascade), they are turned off before BEGIN and
        checked with foreign_key_check before COMMIT instead.
        """
        self._foreign_keys_off = any(_sets_foreign_keys(stmt.text) for stmt in statements)
        if self._foreign_keys_off:
            self.query(db, "PRAGMA foreign_keys = OFF")
        self.query(db, "BEGIN IMMEDIATE")

    def commit_problem(self, db) -> str | None:
        """Foreign key violations left while foreign keys were off, if any."""
        if not getattr(self, "_foreign_keys_off", False):
            return None
        rows = self.query(db, "PRAGMA foreign_key_check")
        if not rows:
            return None
        shown = ", ".join(
            f"{table} row {rowid} -> {parent}" for table, rowid, parent, _ in rows[:5]
        )
        return f"FOREIGN KEY constraint failed: {len(rows)} violation(s): {shown}"

    def commit(self, db) -> None:
        """COMMIT, then foreign keys back on."""
        self.query(db, "COMMIT")
        self._foreign_keys_on(db)

    def rollback(self, db) -> None:
        """ROLLBACK, then foreign keys back on."""
        self.query(db, "ROLLBACK")
        self._foreign_keys_on(db)

    def _foreign_keys_on(self, db) -> None:
        if getattr(self, "_foreign_keys_off", False):
            self.query(db, "PRAGMA foreign_keys = ON")
            self._foreign_keys_off = False

    @contextmanager
    def deploy_lock(self, db, timeout: float) -> Iterator[None]:
        """An exclusive file lock beside the database file."""
        path = Path(self.conn.database + ".faber-migrate.lock")
        with file_lock(path, timeout, what=f"the migration lock of {self.conn.database}"):
            yield

    @contextmanager
    def change_lock(self, timeout: float) -> Iterator[None]:
        """The deploy lock file, which outlives the database file (a restore replaces it)."""
        with self.deploy_lock(None, timeout):
            yield

    def handler_environment(self, secrets: SecretFiles) -> dict[str, str]:
        """SQLite needs no credentials, only the file."""
        return {"FABER_SQLITE_PATH": self.conn.database}


def is_sqlite_file(path: Path) -> bool:
    """True for a regular file that SQLite opens as a database: its header, or empty."""
    try:
        if not path.is_file():
            return False
        with open(path, "rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError:
        return False
    return header in (b"", SQLITE_HEADER)


def _sets_foreign_keys(sql: str) -> bool:
    from faber_db.sql.split import leading_words

    words = leading_words(sql, "sqlite", limit=4)
    return words[:1] == ["PRAGMA"] and "FOREIGN_KEYS" in words
