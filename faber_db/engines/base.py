"""The small surface every engine implements (connect, introspect, databases,
tracking table, snapshot, credentials for native tools). Skill modules call
these and never switch on the engine name."""

from __future__ import annotations

import hashlib
import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from importlib import import_module
from pathlib import Path
from typing import Any, ClassVar

from faber_db.credentials import SecretFiles
from faber_db.errors import DatabaseNotFoundError, InvalidInputError, UnsupportedOptionError
from faber_db.urls import ConnectionInfo

log = logging.getLogger("faber_db.engines")


@dataclass
class Snapshot:
    """A consistent read view shared with the native dump tool where the engine allows."""

    handler_env: dict[str, str] = field(default_factory=dict)
    exact: bool | None = True


@dataclass(frozen=True)
class TrackedMigration:
    """One row of the Prisma-compatible tracking table."""

    id: str
    migration_name: str
    checksum: str
    started_at: Any
    finished_at: Any
    rolled_back_at: Any
    logs: str | None
    applied_steps_count: int


def fingerprint(lines: list[str]) -> str:
    """sha256 over the sorted lines: the same set of lines, the same fingerprint."""
    digest = hashlib.sha256()
    for line in sorted(lines):
        digest.update(line.encode("utf-8") + b"\n")
    return "sha256:" + digest.hexdigest()


class Engine(ABC):
    """Base class; subclasses set the class attributes and implement the hooks."""

    name: ClassVar[str]
    sqlglot_dialect: ClassVar[str]
    prisma_provider: ClassVar[str]
    # (module, class) of its restore strategy, imported on first use
    restorer: ClassVar[tuple[str, str]]
    backup_formats: ClassVar[tuple[str, ...]]  # the first is the default
    file_extensions: ClassVar[dict[str, str]]
    format_descriptions: ClassVar[dict[str, str]] = {}  # format -> what people call it

    # -- facts the core asks instead of comparing engine names ---------------------
    url_schemes: ClassVar[tuple[str, ...]]  # URL schemes that name this engine
    default_port: ClassVar[int | None] = None
    # SQLite-like: a database is one local file. Its URL is a path, its name is a
    # path (no server to ask), and a backup keeps its copy of the file to verify it.
    file_database: ClassVar[bool] = False
    # The URL `faber-db init` writes for dev when the project names none (None: ask).
    default_dev_url: ClassVar[str | None] = None
    install_hints: ClassVar[dict[str, str]] = {}  # native tool -> how to install it
    # The longest name (table, database) the server keeps, in identifier_length_unit.
    max_identifier_length: ClassVar[int] = 63
    identifier_length_unit: ClassVar[str] = "characters"

    # -- database names -----------------------------------------------------------
    # Databases of the server itself: never a restore target.
    system_databases: ClassVar[frozenset[str]] = frozenset()
    # The names faber-db accepts for a database it writes to (--into): a plain
    # identifier, so it never needs more than ordinary quoting anywhere.
    database_name_pattern: ClassVar[re.Pattern[str]] = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")

    def __init__(self, conn: ConnectionInfo) -> None:
        self.conn = conn

    @classmethod
    def identifier_length(cls, name: str) -> int:
        """The length of a name as the server limits it (in identifier_length_unit)."""
        return len(name)

    @classmethod
    def database_name_problem(cls, name: str) -> str | None:
        """Why `name` cannot be a database faber-db restores into, or None."""
        if not cls.database_name_pattern.fullmatch(name):
            return (
                "is not a plain database name (letters, digits, '_' and '-', starting "
                "with a letter or '_')"
            )
        length = cls.identifier_length(name)
        if length > cls.max_identifier_length:
            return (
                f"is {length} {cls.identifier_length_unit} long; {cls.name} allows at most "
                f"{cls.max_identifier_length}"
            )
        if name.casefold() in cls.system_databases:
            return f"is a system database of the {cls.name} server"
        return None

    @classmethod
    def restore_target(
        cls, name: str, project_root: Path, private_dirs: tuple[Path, ...] = ()
    ) -> str:
        """The database a restore --into `name` writes to, in the form ConnectionInfo
        holds it; InvalidInputError (before anything connects) when it is refused.
        `private_dirs` are faber-db's own folders, for engines whose databases are files."""
        problem = cls.database_name_problem(name)
        if problem is not None:
            raise InvalidInputError(f"--into {name!r} {problem}.")
        return name

    # -- connections --------------------------------------------------------------
    @abstractmethod
    def connect(self, database: str | None = None):
        """Open an autocommit DB-API connection, mapping failures to FaberErrors."""

    @contextmanager
    def session(self, database: str | None = None) -> Iterator[Any]:
        """Context-managed connection that is always closed.

        After a failure the connection may be broken mid-protocol (an interrupt
        during a query); closing it must not replace the real error with a
        driver error about the connection.
        """
        db = self.connect(database)
        try:
            yield db
        except BaseException:
            self.abandon(db)
            raise
        db.close()

    def abandon(self, db) -> None:
        """Close a connection that may be broken, ignoring the driver's complaints."""
        try:
            db.close()
        except (*self.error_types, OSError) as exc:
            log.debug("closing an abandoned connection: %s", exc)

    def quote(self, identifier: str) -> str:
        """Quote an identifier for this engine's SQL."""
        return '"' + identifier.replace('"', '""') + '"'

    def query(self, db, sql: str, params: tuple | list = ()) -> list[tuple]:
        """Run a query and return all rows."""
        cursor = db.cursor()
        try:
            if params:
                cursor.execute(sql, params)
            else:
                cursor.execute(sql)
            return list(cursor.fetchall()) if cursor.description else []
        finally:
            cursor.close()

    # -- introspection ------------------------------------------------------------
    @abstractmethod
    def server_version(self, db) -> str:
        """Server version string."""

    @abstractmethod
    def list_tables(self, db) -> list[str]:
        """User base tables, sorted (schema-qualified where the engine has schemas)."""

    def count_rows(self, db, table: str) -> int:
        """Exact row count of one table returned by list_tables."""
        return int(self.query(db, f"SELECT COUNT(*) FROM {self.quote_table(table)}")[0][0])

    def quote_table(self, table: str) -> str:
        """Quote a (possibly schema-qualified) table name from list_tables."""
        return ".".join(self.quote(part) for part in table.split(".", 1))

    def row_counts(self, db) -> dict[str, int]:
        """Exact row count of every user table."""
        return {table: self.count_rows(db, table) for table in self.list_tables(db)}

    @abstractmethod
    def schema_objects(self, db) -> list[str]:
        """Canonical text of every schema object (tables, columns, indexes, views...)."""

    def schema_fingerprint(self, db) -> str:
        """sha256 over the sorted canonical schema: equal schemas, equal fingerprints."""
        return fingerprint(self.schema_objects(db))

    # The module (engines/<engine>/introspection.py) whose introspect(engine, db) reads
    # the schema object by object, for drift detection; imported on first use.
    introspection_module: ClassVar[str | None] = None

    def schema_model(self, db) -> dict[str, dict[str, dict]]:
        """Object type -> object name -> attributes of every schema object (drift)."""
        if self.introspection_module is None:
            raise UnsupportedOptionError(
                f"{self.name} cannot describe its schema object by object."
            )
        return import_module(self.introspection_module).introspect(self, db)

    def drop_schema_objects(self, db, model: dict[str, dict[str, dict]]) -> None:
        """Drop every object a schema_model listed (empties a given shadow database)."""
        if self.introspection_module is None:
            raise UnsupportedOptionError(f"{self.name} cannot drop its schema object by object.")
        import_module(self.introspection_module).drop_objects(self, db, model)

    def table_definitions(self, db) -> list[tuple[str, str]]:
        """(table, canonical text) for each column list, constraint, index and trigger
        of every user table; the table names are those list_tables() returns."""
        return []

    def table_fingerprints(self, db) -> dict[str, str]:
        """sha256 per table over its sorted definitions: which tables' schemas changed."""
        grouped: dict[str, list[str]] = {}
        for table, text in self.table_definitions(db):
            grouped.setdefault(table, []).append(" ".join(text.split()))
        return {table: fingerprint(lines) for table, lines in grouped.items()}

    def table_size(self, db, table: str) -> int | None:
        """Bytes used by one table with its indexes, when the engine can tell."""
        return None

    @abstractmethod
    def database_size(self, db) -> int:
        """Approximate on-disk size of the database in bytes."""

    # -- databases ----------------------------------------------------------------
    @abstractmethod
    def database_exists(self, name: str) -> bool:
        """True when the database (or SQLite file) exists."""

    @abstractmethod
    def create_database(self, name: str) -> None:
        """Create an empty database (or SQLite file)."""

    @abstractmethod
    def drop_database(self, name: str) -> None:
        """Drop a database (or delete a SQLite file) if it exists."""

    def create_scratch_database(self, name: str) -> None:
        """Create an empty database that builds objects as this one does (the same
        defaults where the engine has per-database ones): a shadow for drift."""
        self.create_database(name)

    def databases_with_prefix(self, prefix: str) -> list[str]:
        """Databases on this server whose names start with `prefix` (scratch databases
        faber-db made); engines whose databases are files have no server to ask."""
        return []

    # -- tracking table -----------------------------------------------------------
    @abstractmethod
    def table_exists(self, db, table: str) -> bool:
        """True when an unqualified table exists in the connected database."""

    def migration_summary(self, db, table: str) -> dict:
        """applied_count / last_migration / migrations_list from the tracking table
        (what a backup records and a restore is checked against)."""
        rows = self.read_migrations(db, table)
        if rows is None:
            return {
                "applied_count": 0,
                "last_migration": None,
                "migrations_list": [],
                "table_present": False,
            }
        applied = [
            r.migration_name for r in rows if r.finished_at is not None and r.rolled_back_at is None
        ]
        return {
            "applied_count": len(applied),
            "last_migration": applied[-1] if applied else None,
            "migrations_list": applied,
            "table_present": True,
        }

    def read_migrations(self, db, table: str) -> list[TrackedMigration] | None:
        """Rows of the tracking table ordered as Prisma reads them; None without a table."""
        if not self.table_exists(db, table):
            return None
        rows = self.query(
            db,
            "SELECT id, migration_name, checksum, started_at, finished_at, rolled_back_at,"
            f" logs, applied_steps_count FROM {self.quote(table)} ORDER BY started_at, migration_name",
        )
        return [TrackedMigration(*row) for row in rows]

    @abstractmethod
    def tracking_table_ddl(self, table: str) -> str:
        """CREATE TABLE for the tracking table, with exactly Prisma's columns and types."""

    def create_tracking_table(self, db, table: str) -> None:
        """Create the tracking table as Prisma would."""
        self.query(db, self.tracking_table_ddl(table))

    def tracking_time(self, moment: datetime) -> Any:
        """A UTC moment as this engine's tracking table stores it (as Prisma binds it)."""
        return moment

    # -- applying migrations ------------------------------------------------------
    placeholder: ClassVar[str] = "%s"
    # False where DDL commits implicitly, so a migration cannot be rolled back.
    transactional_ddl: ClassVar[bool] = True

    @property
    def error_types(self) -> tuple[type[BaseException], ...]:
        """The driver's DB-API error classes (what a failing statement raises)."""
        return ()

    def describe_error(self, exc: BaseException) -> tuple[str | None, str]:
        """(error code such as SQLSTATE or errno, the database's message) of a driver error."""
        return None, str(exc).strip()

    def execute(self, db, sql: str) -> int | None:
        """Run one statement of a migration as written (no parameters: '%' stays literal);
        returns the rows it changed as the driver reports them (None: not known)."""
        cursor = db.cursor()
        try:
            cursor.execute(sql)
            rows = cursor.rowcount
            return rows if isinstance(rows, int) and rows >= 0 else None
        finally:
            cursor.close()

    def set_migration_timeouts(
        self, db, statement_seconds: float | None, lock_seconds: float | None
    ) -> list[str]:
        """Bound each migration statement's run time and lock wait (None: the server's
        default). Returns warnings for limits this engine cannot enforce."""
        return []

    # -- lock waits (issue 16) ------------------------------------------------------
    def is_lock_timeout(self, exc: BaseException) -> bool:
        """True when a driver error means "gave up waiting for a lock another session
        holds" (the statement did nothing and may be retried), not any other failure."""
        return False

    # False where lock_blockers looks at the machine, not at the server's sessions: it is
    # then asked once, after the wait, with no monitor connection.
    lock_blockers_need_monitor: ClassVar[bool] = True

    def session_id(self, db) -> int | None:
        """The server's id of this connection's session (what lock_blockers looks for)."""
        return None

    def lock_blockers(self, monitor, session: int | None) -> list[dict]:
        """The sessions that block `session` (seen from another connection, `monitor`):
        dicts with pid, user, transaction_seconds, state, query. [] when none or unknown."""
        return []

    def end_session_command(self, pid: int) -> str:
        """What a person runs to end the blocking session `pid` (a lock_blockers entry)."""
        return f"kill {int(pid)}"

    def clean_up_failed_statement(self, db, sql: str, lock_seconds: float | None) -> list[str]:
        """Undo what a failed statement left behind although it failed (PostgreSQL: the
        INVALID index of a CREATE INDEX CONCURRENTLY); returns what was done, in words."""
        return []

    def begin(self, db, statements=()) -> None:
        """Start the transaction a migration (these statements) and its tracking row share."""
        self.query(db, "BEGIN")

    def commit(self, db) -> None:
        """Commit the migration's transaction."""
        self.query(db, "COMMIT")

    def rollback(self, db) -> None:
        """Roll the migration's transaction back."""
        self.query(db, "ROLLBACK")

    def commit_problem(self, db) -> str | None:
        """A reason not to commit a migration's transaction (checked just before COMMIT)."""
        return None

    @abstractmethod
    @contextmanager
    def deploy_lock(self, db, timeout: float) -> Iterator[None]:
        """Hold the engine's migration lock, waiting at most `timeout` s (LockTimeoutError)."""

    @contextmanager
    def change_lock(self, timeout: float) -> Iterator[None]:
        """The deploy lock held on a session of its own, so the commands that hold it
        may open, close and break their own connections meanwhile. A database that
        does not exist yet has no lock to take (the caller's file lock covers it)."""
        try:
            db = self.connect()
        except DatabaseNotFoundError:
            yield
            return
        try:
            with self.deploy_lock(db, timeout):
                yield
        finally:
            self.abandon(db)

    # -- health (issue 15) ----------------------------------------------------------
    # True where open_transactions sees the server's sessions (False: it cannot tell).
    lists_transactions: ClassVar[bool] = False

    def open_transactions(self, db) -> list[dict]:
        """Other sessions' open transactions on the connected database, oldest first:
        dicts with pid, user, transaction_seconds, idle (idle in a transaction), state,
        query. [] when there are none or the engine cannot tell."""
        return []

    def backup_tool_problem(self, tool_version: str, server_version: str) -> tuple[str, str] | None:
        """(why the dump tool of this version cannot back this server up, the command
        that installs one that can), or None when it can."""
        return None

    # -- rehearsals (issue 16) --------------------------------------------------------
    # True where held_locks can tell (a rehearsal then also samples them from a second
    # connection while a migration without a transaction runs).
    reports_locks: ClassVar[bool] = False

    def held_locks(self, db, session: int | None = None) -> list[dict]:
        """The relation locks that session `session` (session_id; None: this connection)
        holds or waits for: dicts with relation, mode and granted ([] where the engine
        cannot tell)."""
        return []

    def relation_files(self, db) -> dict[str, int]:
        """table -> the identity of its storage (PostgreSQL's relfilenode), which changes
        when a statement rewrites the table; {} where the engine cannot tell."""
        return {}

    def empty_tables(self, db, keep: str) -> None:
        """Delete every row of every user table but `keep` (the tracking table): the
        schema-only copy of a rehearsal. Tables that foreign keys still hold are
        retried after the others."""
        left = [t for t in self.list_tables(db) if t.rsplit(".", 1)[-1] != keep]
        for _ in range(len(left) + 1):
            failed = []
            for table in left:
                try:
                    self.query(db, f"DELETE FROM {self.quote_table(table)}")
                except self.error_types:
                    failed.append(table)
            if not failed:
                return
            left = failed
        self.query(db, f"DELETE FROM {self.quote_table(left[0])}")  # raises the real error

    # -- backups ------------------------------------------------------------------
    @contextmanager
    def snapshot(self, db) -> Iterator[Snapshot]:
        """A read view for the manifest that matches what the dump sees."""
        yield Snapshot(exact=None)

    @abstractmethod
    def handler_environment(self, secrets: SecretFiles) -> dict[str, str]:
        """Environment for native tools; secrets go into `secrets` (in-memory files)."""
