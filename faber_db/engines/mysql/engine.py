"""MySQL and MariaDB through PyMySQL."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timezone

from faber_db.credentials import SecretFiles, mysql_option_value
from faber_db.engines.base import Engine, Snapshot
from faber_db.errors import (
    AuthFailedError,
    ConnectionFailedError,
    DatabaseNotFoundError,
    LockTimeoutError,
)
from faber_db.human_text import first_line
from faber_db.urls import redact_text

ROW_CHANGE_COUNTERS = ("Innodb_rows_inserted", "Innodb_rows_deleted")
SSL_PARAMS = {"ssl-ca": "ssl-ca", "sslca": "ssl-ca", "ssl-cert": "ssl-cert", "ssl-key": "ssl-key"}


_CLIENT_HINT = (
    "Install the MariaDB/MySQL client: apt-get install mariadb-client (macOS: brew install mariadb)"
)


class MySQLEngine(Engine):
    """MySQL 5.7+/8.x and MariaDB 10.x+."""

    name = "mysql"
    sqlglot_dialect = "mysql"
    prisma_provider = "mysql"
    restorer = ("faber_db.engines.mysql.restorer", "MySQLRestorer")
    introspection_module = "faber_db.engines.mysql.introspection"
    url_schemes = ("mysql", "mariadb")
    default_port = 3306
    install_hints = dict.fromkeys(("mysqldump", "mariadb", "mysql"), _CLIENT_HINT)
    max_identifier_length = 64
    backup_formats = ("sql",)
    file_extensions = {"sql": ".sql"}
    format_descriptions = {"sql": "SQL dump"}
    system_databases = frozenset({"mysql", "information_schema", "performance_schema", "sys"})

    def quote(self, identifier: str) -> str:
        """Backtick quoting."""
        return "`" + identifier.replace("`", "``") + "`"

    def connect(self, database: str | None = None):
        """Connect with PyMySQL (autocommit, utf8mb4)."""
        import pymysql

        try:
            return pymysql.connect(
                host=self.conn.host or "localhost",
                port=self.conn.port or 3306,
                user=self.conn.user or "root",
                password=self.conn.password or "",
                database=database if database is not None else self.conn.database,
                charset="utf8mb4",
                autocommit=True,
                connect_timeout=10,
                unix_socket=self.conn.param("socket"),
            )
        except pymysql.err.OperationalError as exc:
            raise self._connection_error(exc, database or self.conn.database) from None

    def _connection_error(self, exc, database: str):
        code = exc.args[0] if exc.args else None
        text = redact_text(
            str(exc.args[1] if len(exc.args) > 1 else exc), [self.conn.password or ""]
        )
        where = f"{self.conn.host or 'localhost'}:{self.conn.port}"
        if code == 1049:
            return DatabaseNotFoundError(
                f"MySQL at {where} has no database '{database}'.",
                suggestions=["faber-db db-create <env>", "Check the database name in the URL"],
            )
        if code in (1045, 1044, 1698):
            return AuthFailedError(
                f"MySQL at {where} rejected the credentials for user '{self.conn.user}': {first_line(text)}",
                suggestions=["Check the user and password in the connection URL"],
            )
        return ConnectionFailedError(
            f"Cannot connect to MySQL at {where}: {first_line(text)}",
            suggestions=[
                "Check that the server is running and reachable",
                "mysqladmin -h HOST -P PORT ping",
            ],
        )

    def server_version(self, db) -> str:
        """e.g. '10.11.19-MariaDB'."""
        return self.query(db, "SELECT VERSION()")[0][0]

    def list_tables(self, db) -> list[str]:
        """Base tables of the connected schema."""
        rows = self.query(
            db,
            "SELECT TABLE_NAME FROM information_schema.TABLES"
            " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1",
        )
        return [row[0] for row in rows]

    def quote_table(self, table: str) -> str:
        """MySQL tables here are never schema-qualified."""
        return self.quote(table)

    def schema_objects(self, db) -> list[str]:
        """Canonical definitions from information_schema, with the schema name removed
        so that a copy restored into a scratch schema fingerprints the same."""
        schema = self.query(db, "SELECT DATABASE()")[0][0]
        lines = [
            " ".join(str(v) for v in row) for sql in _SCHEMA_QUERIES for row in self.query(db, sql)
        ]
        return [strip_schema_name(line, schema) for line in lines]

    def table_definitions(self, db) -> list[tuple[str, str]]:
        """Columns, indexes, foreign keys and triggers of every base table."""
        return [(row[0], row[1]) for sql in _TABLE_QUERIES for row in self.query(db, sql)]

    def set_migration_timeouts(
        self, db, statement_seconds: float | None, lock_seconds: float | None
    ) -> list[str]:
        """lock_wait_timeout (metadata locks: what DDL queues on) and
        innodb_lock_wait_timeout; max_statement_time on MariaDB (MySQL's
        max_execution_time covers SELECT only, so it cannot bound DDL)."""
        warnings = []
        if lock_seconds is not None:
            seconds = max(1, int(lock_seconds))
            self.query(
                db,
                f"SET SESSION lock_wait_timeout = {seconds}, innodb_lock_wait_timeout = {seconds}",
            )
        if statement_seconds is not None:
            if "mariadb" in self.server_version(db).lower():
                self.query(db, f"SET SESSION max_statement_time = {float(statement_seconds)}")
            else:
                warnings.append(
                    "MySQL cannot limit a DDL statement's run time: migrations.timeout_seconds is not enforced"
                )
        return warnings

    def table_size(self, db, table: str) -> int | None:
        """DATA_LENGTH + INDEX_LENGTH from information_schema."""
        rows = self.query(
            db,
            "SELECT DATA_LENGTH + INDEX_LENGTH FROM information_schema.TABLES"
            " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s",
            (table.rsplit(".", 1)[-1],),
        )
        return int(rows[0][0]) if rows and rows[0][0] is not None else None

    def database_size(self, db) -> int:
        """Data plus index length of the schema's tables."""
        rows = self.query(
            db,
            "SELECT COALESCE(SUM(DATA_LENGTH + INDEX_LENGTH), 0) FROM information_schema.TABLES"
            " WHERE TABLE_SCHEMA = DATABASE()",
        )
        return int(rows[0][0])

    def database_exists(self, name: str) -> bool:
        """Look the schema up in information_schema."""
        with self.session("") as db:
            rows = self.query(
                db, "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (name,)
            )
            return bool(rows)

    def create_database(self, name: str) -> None:
        """CREATE DATABASE name (utf8mb4)."""
        with self.session("") as db:
            self.query(db, f"CREATE DATABASE {self.quote(name)} CHARACTER SET utf8mb4")

    def drop_database(self, name: str) -> None:
        """DROP DATABASE IF EXISTS name."""
        with self.session("") as db:
            self.query(db, f"DROP DATABASE IF EXISTS {self.quote(name)}")

    def create_scratch_database(self, name: str) -> None:
        """CREATE DATABASE with this schema's default character set and collation, so
        a table or column that names none gets the same one in both."""
        with self.session("") as db:
            rows = self.query(
                db,
                "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME"
                " FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s",
                (self.conn.database,),
            )
            charset, collation = rows[0] if rows else ("utf8mb4", None)
            if not re.fullmatch(r"\w+", charset or "") or not re.fullmatch(r"\w*", collation or ""):
                charset, collation = "utf8mb4", None
            self.query(
                db,
                f"CREATE DATABASE {self.quote(name)} CHARACTER SET {charset}"
                + (f" COLLATE {collation}" if collation else ""),
            )

    def databases_with_prefix(self, prefix: str) -> list[str]:
        """Schemas whose names start with `prefix` (taken literally)."""
        with self.session("") as db:
            rows = self.query(db, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA ORDER BY 1")
        return [row[0] for row in rows if row[0].startswith(prefix)]

    def empty_tables(self, db, keep: str) -> None:
        """DELETE from every table of the schema but `keep`, foreign key checks off."""
        self.query(db, "SET SESSION foreign_key_checks = 0")
        try:
            super().empty_tables(db, keep)
        finally:
            self.query(db, "SET SESSION foreign_key_checks = 1")

    def table_exists(self, db, table: str) -> bool:
        """Table in the connected schema."""
        rows = self.query(
            db,
            "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s",
            (table,),
        )
        return bool(rows)

    transactional_ddl = False

    def tracking_table_ddl(self, table: str) -> str:
        """Prisma's MySQL DDL (sql-schema-connector flavour/mysql.rs)."""
        return f"""CREATE TABLE {self.quote(table)} (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             DATETIME(3),
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          DATETIME(3),
    started_at              DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    applied_steps_count     INTEGER UNSIGNED NOT NULL DEFAULT 0
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"""

    def tracking_time(self, moment: datetime) -> datetime:
        """DATETIME(3) has no time zone: Prisma stores naive UTC."""
        return moment.astimezone(timezone.utc).replace(tzinfo=None)

    @property
    def error_types(self) -> tuple[type[BaseException], ...]:
        """pymysql.err.Error."""
        import pymysql

        return (pymysql.err.Error,)

    def describe_error(self, exc: BaseException) -> tuple[str | None, str]:
        """errno and the server's message."""
        args = getattr(exc, "args", ())
        if len(args) >= 2 and isinstance(args[0], int):
            return str(args[0]), redact_text(str(args[1]), [self.conn.password or ""])
        return None, redact_text(str(exc).strip(), [self.conn.password or ""])

    def is_lock_timeout(self, exc: BaseException) -> bool:
        """Error 1205: lock_wait_timeout or innodb_lock_wait_timeout expired."""
        from faber_db.engines.mysql import lock_waits

        args = getattr(exc, "args", ())
        return bool(args) and args[0] == lock_waits.LOCK_WAIT_TIMEOUT_ERRNO

    def session_id(self, db) -> int | None:
        """CONNECTION_ID()."""
        return int(self.query(db, "SELECT CONNECTION_ID()")[0][0])

    def lock_blockers(self, monitor, session: int | None) -> list[dict]:
        """Holders of the metadata locks waited for, or the open transactions."""
        from faber_db.engines.mysql import lock_waits

        return lock_waits.blockers(self, monitor, session)

    lists_transactions = True

    def open_transactions(self, db) -> list[dict]:
        """INNODB_TRX joined to the processlist, for sessions using this schema."""
        from faber_db.engines.mysql import lock_waits

        return lock_waits.open_transactions(self, db)

    def end_session_command(self, pid: int) -> str:
        """KILL ends the connection and rolls its transaction back."""
        return f"KILL {int(pid)}"

    @contextmanager
    def deploy_lock(self, db, timeout: float) -> Iterator[None]:
        """GET_LOCK on a name derived from the database, waiting server-side."""
        name = deploy_lock_name(self.conn.database)
        got = self.query(db, "SELECT GET_LOCK(%s, %s)", (name, max(0, int(timeout))))[0][0]
        if got != 1:
            raise LockTimeoutError(
                f"Another run changing MySQL database '{self.conn.database}' "
                "(migrate, resolve, restore, rollback or prisma migrate deploy) holds "
                f"its lock (GET_LOCK '{name}'); waited {timeout:g}s.",
                suggestions=["Wait for the other deploy to finish, then retry"],
            )
        try:
            yield
        finally:
            with suppress(self.error_types):
                self.query(db, "SELECT RELEASE_LOCK(%s)", (name,))

    @contextmanager
    def snapshot(self, db) -> Iterator[Snapshot]:
        """A consistent snapshot opened just before the dump starts its own.

        mysqldump cannot share a snapshot, so the manifest's row counts are exact
        only if no row was inserted or deleted while the dump ran; the global
        InnoDB row counters tell us whether that happened.
        """
        before = self._row_change_counters(db)
        self.query(db, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
        snapshot = Snapshot(exact=None)
        yield snapshot
        # Only on success: after a failure the session is abandoned, which ends the transaction.
        self.query(db, "ROLLBACK")
        snapshot.exact = self._row_change_counters(db) == before

    def _row_change_counters(self, db) -> dict[str, int]:
        rows = self.query(
            db,
            "SHOW GLOBAL STATUS WHERE Variable_name IN (%s, %s)",
            ROW_CHANGE_COUNTERS,
        )
        return {name: int(value) for name, value in rows}

    def handler_environment(self, secrets: SecretFiles) -> dict[str, str]:
        """Host, user and password in a private --defaults-extra-file."""
        lines = ["[client]", f"user={mysql_option_value(self.conn.user or 'root')}"]
        if self.conn.host:
            lines.append(f"host={mysql_option_value(self.conn.host)}")
        if self.conn.port:
            lines.append(f"port={self.conn.port}")
        if self.conn.password:
            lines.append(f"password={mysql_option_value(self.conn.password)}")
        if self.conn.param("socket"):
            lines.append(f"socket={mysql_option_value(self.conn.param('socket'))}")
        for param, option in SSL_PARAMS.items():
            if self.conn.param(param):
                lines.append(f"{option}={mysql_option_value(self.conn.param(param))}")
        path = secrets.add("my.cnf", "\n".join(lines) + "\n")
        return {"FABER_MYSQL_DEFAULTS": str(path), "FABER_MYSQL_DATABASE": self.conn.database}


def deploy_lock_name(database: str) -> str:
    """GET_LOCK name for deploys to one database (lock names are at most 64 characters)."""
    name = f"faber_db_migrate.{database}"
    if len(name) <= 64:
        return name
    return "faber_db_migrate." + hashlib.sha256(database.encode("utf-8")).hexdigest()[:40]


def strip_schema_name(text: str, schema: str) -> str:
    """Remove `schema`. qualifiers (MySQL writes them into view and routine bodies)."""
    return re.sub(r"`" + re.escape(schema) + r"`\.", "", text)


_SCHEMA_QUERIES = (
    "SELECT 'tbl', TABLE_NAME, TABLE_TYPE, ENGINE FROM information_schema.TABLES"
    " WHERE TABLE_SCHEMA = DATABASE()",
    "SELECT 'col', TABLE_NAME, GROUP_CONCAT(CONCAT_WS(' ', COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE,"
    " IFNULL(COLUMN_DEFAULT, 'NULL'), EXTRA, IFNULL(COLLATION_NAME, '')) ORDER BY ORDINAL_POSITION"
    " SEPARATOR ', ') FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() GROUP BY TABLE_NAME",
    "SELECT 'idx', TABLE_NAME, INDEX_NAME, NON_UNIQUE, GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX)"
    " FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE()"
    " GROUP BY TABLE_NAME, INDEX_NAME, NON_UNIQUE",
    "SELECT 'fk', k.TABLE_NAME, k.CONSTRAINT_NAME, GROUP_CONCAT(k.COLUMN_NAME ORDER BY k.ORDINAL_POSITION),"
    " k.REFERENCED_TABLE_NAME, GROUP_CONCAT(k.REFERENCED_COLUMN_NAME ORDER BY k.ORDINAL_POSITION),"
    " r.UPDATE_RULE, r.DELETE_RULE FROM information_schema.KEY_COLUMN_USAGE k"
    " JOIN information_schema.REFERENTIAL_CONSTRAINTS r ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA"
    " AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND r.TABLE_NAME = k.TABLE_NAME"
    " WHERE k.TABLE_SCHEMA = DATABASE() GROUP BY k.TABLE_NAME, k.CONSTRAINT_NAME,"
    " k.REFERENCED_TABLE_NAME, r.UPDATE_RULE, r.DELETE_RULE",
    "SELECT 'view', TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS"
    " WHERE TABLE_SCHEMA = DATABASE()",
    "SELECT 'trg', TRIGGER_NAME, EVENT_MANIPULATION, EVENT_OBJECT_TABLE, ACTION_TIMING,"
    " ACTION_STATEMENT FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()",
    "SELECT 'rtn', ROUTINE_TYPE, ROUTINE_NAME, ROUTINE_DEFINITION FROM information_schema.ROUTINES"
    " WHERE ROUTINE_SCHEMA = DATABASE()",
    "SELECT 'evt', EVENT_NAME, EVENT_DEFINITION FROM information_schema.EVENTS"
    " WHERE EVENT_SCHEMA = DATABASE()",
)

# Per-table definitions (see table_definitions), keyed by the table they belong to.
_TABLE_QUERIES = (
    "SELECT TABLE_NAME, CONCAT('col ', GROUP_CONCAT(CONCAT_WS(' ', COLUMN_NAME, COLUMN_TYPE,"
    " IS_NULLABLE, IFNULL(COLUMN_DEFAULT, 'NULL'), EXTRA, IFNULL(COLLATION_NAME, ''))"
    " ORDER BY ORDINAL_POSITION SEPARATOR ', ')) FROM information_schema.COLUMNS"
    " WHERE TABLE_SCHEMA = DATABASE() GROUP BY TABLE_NAME",
    "SELECT TABLE_NAME, CONCAT_WS(' ', 'idx', INDEX_NAME, NON_UNIQUE,"
    " GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX)) FROM information_schema.STATISTICS"
    " WHERE TABLE_SCHEMA = DATABASE() GROUP BY TABLE_NAME, INDEX_NAME, NON_UNIQUE",
    "SELECT k.TABLE_NAME, CONCAT_WS(' ', 'fk', k.CONSTRAINT_NAME,"
    " GROUP_CONCAT(k.COLUMN_NAME ORDER BY k.ORDINAL_POSITION), k.REFERENCED_TABLE_NAME,"
    " GROUP_CONCAT(k.REFERENCED_COLUMN_NAME ORDER BY k.ORDINAL_POSITION), r.UPDATE_RULE,"
    " r.DELETE_RULE) FROM information_schema.KEY_COLUMN_USAGE k"
    " JOIN information_schema.REFERENTIAL_CONSTRAINTS r ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA"
    " AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND r.TABLE_NAME = k.TABLE_NAME"
    " WHERE k.TABLE_SCHEMA = DATABASE() GROUP BY k.TABLE_NAME, k.CONSTRAINT_NAME,"
    " k.REFERENCED_TABLE_NAME, r.UPDATE_RULE, r.DELETE_RULE",
    "SELECT EVENT_OBJECT_TABLE, CONCAT_WS(' ', 'trg', TRIGGER_NAME, EVENT_MANIPULATION,"
    " ACTION_TIMING, ACTION_STATEMENT) FROM information_schema.TRIGGERS"
    " WHERE TRIGGER_SCHEMA = DATABASE()",
)
