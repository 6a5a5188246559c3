"""SQLite through the standard library's sqlite3 module (nothing to install)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from faber_db.engines.base import Engine
from faber_db.errors import ConnectionFailedError, DatabaseNotFoundError


class SQLiteEngine(Engine):
    """SQLite 3 files; `database` is the file's absolute path."""

    name = "sqlite"
    sqlglot_dialect = "sqlite"
    prisma_provider = "sqlite"
    backup_formats = ("custom", "sql")
    file_extensions = {"custom": ".sqlite3", "sql": ".sql"}

    def connect(self, database: str | None = None):
        """Open an existing database file read-write (never creates one by accident)."""
        path = Path(database or self.conn.database)
        if not path.is_file():
            raise DatabaseNotFoundError(
                f"SQLite database file {path} does not exist.",
                suggestions=["faber-db db-create <env>"],
            )
        try:
            db = sqlite3.connect(f"file:{path}?mode=rw", uri=True, isolation_level=None, timeout=30)
            db.execute("PRAGMA foreign_keys = ON")
            return db
        except sqlite3.Error as exc:
            raise ConnectionFailedError(f"Cannot open SQLite database {path}: {exc}") from None

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

    def schema_objects(self, db) -> list[str]:
        """CREATE statements as SQLite stored them."""
        rows = self.query(
            db,
            "SELECT type, name, tbl_name, sql FROM sqlite_master"
            " WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND sql IS NOT NULL",
        )
        return [" ".join(" ".join(str(v).split()) for v in row) for row in rows]

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

    def handler_environment(self, secrets_dir: Path) -> dict[str, str]:
        """SQLite needs no credentials, only the file."""
        return {"FABER_SQLITE_PATH": self.conn.database}
