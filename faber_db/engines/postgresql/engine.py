"""PostgreSQL through psycopg 3."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from faber_db.credentials import SecretFiles, pgpass_line
from faber_db.engines.base import Engine, Snapshot
from faber_db.errors import (
    AuthFailedError,
    ConnectionFailedError,
    DatabaseNotFoundError,
    LockTimeoutError,
)
from faber_db.human_text import first_line
from faber_db.urls import redact_text

# The key `prisma migrate deploy` locks, so faber-db and Prisma never deploy at once.
ADVISORY_LOCK_KEY = 72707369
USER_SCHEMAS = (
    "n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')"
    " AND n.nspname NOT LIKE 'pg_temp_%' AND n.nspname NOT LIKE 'pg_toast_temp_%'"
)
NOT_EXTENSION_MEMBER = (
    "NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = {oid} AND d.deptype = 'e')"
)
_TABLE = "n.nspname || '.' || c.relname"
# Each relation's columns in order (attnum gaps from dropped columns are not part of
# the schema), for a query that groups by n.nspname, c.relname.
_COLUMN_LIST = f"""string_agg(
            a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
            || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
            || COALESCE(' default ' || pg_get_expr(ad.adbin, ad.adrelid), ''), ', ' ORDER BY a.attnum)
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
        WHERE {USER_SCHEMAS} AND a.attnum > 0 AND NOT a.attisdropped"""
# Per-table definitions (see table_definitions): the same text as SCHEMA_QUERIES
# gives, keyed by the table it belongs to.
TABLE_QUERIES = (
    f"""SELECT {_TABLE}, 'col ' || {_COLUMN_LIST}
          AND c.relkind IN ('r','p') GROUP BY n.nspname, c.relname""",
    f"""SELECT {_TABLE}, 'con ' || co.conname || ' ' || pg_get_constraintdef(co.oid)
        FROM pg_constraint co JOIN pg_class c ON c.oid = co.conrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {USER_SCHEMAS} AND c.relkind IN ('r','p')""",
    f"""SELECT {_TABLE}, 'idx ' || pg_get_indexdef(i.indexrelid)
        FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {USER_SCHEMAS} AND c.relkind IN ('r','p')""",
    f"""SELECT {_TABLE}, 'trg ' || pg_get_triggerdef(t.oid)
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {USER_SCHEMAS} AND NOT t.tgisinternal AND c.relkind IN ('r','p')""",
)
LIBPQ_PARAMS = {
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
}
SCHEMA_QUERIES = (
    # relations and their kind
    f"""SELECT 'rel ' || n.nspname || '.' || c.relname || ' ' || c.relkind::text
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {USER_SCHEMAS} AND c.relkind IN ('r','p','v','m','S','f')
          AND {NOT_EXTENSION_MEMBER.format(oid="c.oid")}""",
    # columns in order (attnum gaps from dropped columns are not part of the schema)
    f"""SELECT 'col ' || n.nspname || '.' || c.relname || ' ' || {_COLUMN_LIST}
          AND c.relkind IN ('r','p','v','m','f')
          AND {NOT_EXTENSION_MEMBER.format(oid="c.oid")}
        GROUP BY n.nspname, c.relname""",
    f"""SELECT 'con ' || n.nspname || '.' || c.relname || ' ' || co.conname || ' '
            || pg_get_constraintdef(co.oid)
        FROM pg_constraint co JOIN pg_class c ON c.oid = co.conrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {USER_SCHEMAS}""",
    f"""SELECT 'idx ' || pg_get_indexdef(i.indexrelid)
        FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {USER_SCHEMAS} AND {NOT_EXTENSION_MEMBER.format(oid="i.indrelid")}""",
    f"""SELECT 'view ' || n.nspname || '.' || c.relname || ' ' || pg_get_viewdef(c.oid)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {USER_SCHEMAS} AND c.relkind IN ('v','m')
          AND {NOT_EXTENSION_MEMBER.format(oid="c.oid")}""",
    f"""SELECT 'fn ' || pg_get_functiondef(p.oid)
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE {USER_SCHEMAS} AND p.prokind IN ('f','p')
          AND {NOT_EXTENSION_MEMBER.format(oid="p.oid")}""",
    f"""SELECT 'trg ' || pg_get_triggerdef(t.oid)
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {USER_SCHEMAS} AND NOT t.tgisinternal""",
    f"""SELECT 'enum ' || n.nspname || '.' || t.typname || ' '
            || string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
        FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
        JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE {USER_SCHEMAS} AND {NOT_EXTENSION_MEMBER.format(oid="t.oid")}
        GROUP BY n.nspname, t.typname""",
    """SELECT 'ext ' || extname FROM pg_extension WHERE extname <> 'plpgsql'""",
)


_CLIENT_HINT = (
    "Install the PostgreSQL client: apt-get install postgresql-client (macOS: brew install libpq)"
)


class PostgresEngine(Engine):
    """PostgreSQL 12 and newer."""

    name = "postgresql"
    sqlglot_dialect = "postgres"
    prisma_provider = "postgresql"
    restorer = ("faber_db.engines.postgresql.restorer", "PostgresRestorer")
    introspection_module = "faber_db.engines.postgresql.introspection"
    url_schemes = ("postgresql", "postgres")
    default_port = 5432
    install_hints = dict.fromkeys(("pg_dump", "pg_restore", "psql"), _CLIENT_HINT)
    max_identifier_length = 63  # NAMEDATALEN - 1; longer names are silently cut
    identifier_length_unit = "bytes"
    backup_formats = ("custom", "sql", "directory")
    file_extensions = {"custom": ".dump", "sql": ".sql", "directory": ".dir"}
    format_descriptions = {
        "custom": "pg_dump custom archive",
        "sql": "SQL dump",
        "directory": "pg_dump directory archive",
    }
    system_databases = frozenset({"postgres", "template0", "template1"})

    @classmethod
    def identifier_length(cls, name: str) -> int:
        """PostgreSQL limits identifiers in bytes of the server encoding (UTF-8)."""
        return len(name.encode("utf-8"))

    def connect(self, database: str | None = None):
        """Connect with psycopg in autocommit mode."""
        import psycopg

        params = {
            "host": self.conn.host,
            "port": self.conn.port,
            "user": self.conn.user,
            "password": self.conn.password,
            "dbname": database or self.conn.database,
            "connect_timeout": int(self.conn.param("connect_timeout", "10")),
            "application_name": "faber-db",
        }
        for key in ("sslmode", "sslrootcert", "sslcert", "sslkey"):
            if self.conn.param(key):
                params[key] = self.conn.param(key)
        try:
            return psycopg.connect(
                autocommit=True, **{k: v for k, v in params.items() if v is not None}
            )
        except psycopg.OperationalError as exc:
            raise self._connection_error(exc, params["dbname"]) from None

    def _connection_error(self, exc, database: str):
        text = redact_text(str(exc), [self.conn.password or ""])
        where = f"{self.conn.host or 'local socket'}:{self.conn.port}"
        lowered = text.lower()
        if (
            getattr(exc, "sqlstate", None) == "3D000"
            or "does not exist" in lowered
            and "database" in lowered
        ):
            return DatabaseNotFoundError(
                f"PostgreSQL at {where} has no database '{database}'.",
                suggestions=["faber-db db-create <env>", "Check the database name in the URL"],
            )
        if (
            getattr(exc, "sqlstate", None) in ("28P01", "28000")
            or "authentication" in lowered
            or ("role" in lowered and "does not exist" in lowered)
            or ("password" in lowered and "no password" not in lowered)
        ):
            return AuthFailedError(
                f"PostgreSQL at {where} rejected the credentials for user '{self.conn.user}'.",
                suggestions=["Check the user and password in the connection URL"],
            )
        return ConnectionFailedError(
            f"Cannot connect to PostgreSQL at {where}: {first_line(text)}",
            suggestions=[
                "Check that the server is running and reachable",
                "pg_isready -h HOST -p PORT",
            ],
        )

    def server_version(self, db) -> str:
        """e.g. '15.20'."""
        return self.query(db, "SHOW server_version")[0][0].split()[0]

    def list_tables(self, db) -> list[str]:
        """schema.table for every ordinary and partitioned (non-partition) table."""
        return [f"{schema}.{table}" for schema, table in self._table_names(db)]

    def row_counts(self, db) -> dict[str, int]:
        """Exact row count of every user table, each counted by its (schema, table)
        pair: a schema whose name holds a '.' cannot be told from its "schema.table"."""
        from psycopg import sql

        return {
            f"{schema}.{table}": int(
                db.execute(
                    sql.SQL("SELECT COUNT(*) FROM {}.{}").format(
                        sql.Identifier(schema), sql.Identifier(table)
                    )
                ).fetchone()[0]
            )
            for schema, table in self._table_names(db)
        }

    def _table_names(self, db) -> list[tuple[str, str]]:
        return self.query(
            db,
            f"""SELECT n.nspname, c.relname FROM pg_class c
                JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE {USER_SCHEMAS} AND c.relkind IN ('r','p') AND NOT c.relispartition
                  AND {NOT_EXTENSION_MEMBER.format(oid="c.oid")}
                ORDER BY n.nspname || '.' || c.relname""",
        )

    def schema_objects(self, db) -> list[str]:
        """Canonical definitions from pg_catalog (owners, OIDs and ACLs left out)."""
        return [row[0] for sql in SCHEMA_QUERIES for row in self.query(db, sql)]

    def table_definitions(self, db) -> list[tuple[str, str]]:
        """Columns, constraints, indexes and triggers of every table, by schema.table."""
        return [(row[0], row[1]) for sql in TABLE_QUERIES for row in self.query(db, sql)]

    def set_migration_timeouts(
        self, db, statement_seconds: float | None, lock_seconds: float | None
    ) -> list[str]:
        """statement_timeout and lock_timeout for this session, in milliseconds."""
        for setting, seconds in (
            ("statement_timeout", statement_seconds),
            ("lock_timeout", lock_seconds),
        ):
            if seconds is not None:
                self.query(db, f"SET {setting} = {int(seconds * 1000)}")
        return []

    def table_size(self, db, table: str) -> int | None:
        """pg_total_relation_size (heap, TOAST and indexes); None for a missing table."""
        rows = self.query(
            db, "SELECT pg_total_relation_size(to_regclass(%s))", (self.quote_table(table),)
        )
        return int(rows[0][0]) if rows and rows[0][0] is not None else None

    def database_size(self, db) -> int:
        """pg_database_size of the current database."""
        return int(self.query(db, "SELECT pg_database_size(current_database())")[0][0])

    def database_exists(self, name: str) -> bool:
        """Look the name up in pg_database (through the maintenance database)."""
        with self.session(self._maintenance_db()) as db:
            return bool(self.query(db, "SELECT 1 FROM pg_database WHERE datname = %s", (name,)))

    def create_database(self, name: str) -> None:
        """CREATE DATABASE name."""
        from psycopg import sql

        with self.session(self._maintenance_db()) as db:
            db.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def drop_database(self, name: str) -> None:
        """DROP DATABASE IF EXISTS name WITH (FORCE)."""
        from psycopg import sql

        with self.session(self._maintenance_db()) as db:
            db.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def databases_with_prefix(self, prefix: str) -> list[str]:
        """Names in pg_database that start with `prefix` (taken literally)."""
        with self.session(self._maintenance_db()) as db:
            rows = self.query(db, "SELECT datname FROM pg_database ORDER BY 1")
        return [row[0] for row in rows if row[0].startswith(prefix)]

    reports_locks = True

    def held_locks(self, db, session: int | None = None) -> list[dict]:
        """Relation locks of backend `session` (None: this one), from pg_locks."""
        rows = self.query(
            db,
            "SELECT n.nspname || '.' || c.relname, l.mode, l.granted"
            " FROM pg_catalog.pg_locks l"
            " JOIN pg_catalog.pg_class c ON c.oid = l.relation"
            " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
            " WHERE l.pid = COALESCE(%s::int, pg_catalog.pg_backend_pid()) AND l.locktype = 'relation'"
            " AND l.database = (SELECT oid FROM pg_catalog.pg_database"
            " WHERE datname = pg_catalog.current_database())"
            " AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
            " ORDER BY 1, 2",
            (session,),
        )
        return [{"relation": r[0], "mode": r[1], "granted": bool(r[2])} for r in rows]

    def empty_tables(self, db, keep: str) -> None:
        """One TRUNCATE of every user table but `keep` (foreign keys among them allowed)."""
        from psycopg import sql

        tables = [(s, t) for s, t in self._table_names(db) if t != keep]
        if tables:
            names = sql.SQL(", ").join(sql.Identifier(s, t) for s, t in tables)
            db.execute(sql.SQL("TRUNCATE {}").format(names))

    def relation_files(self, db) -> dict[str, int]:
        """schema.table -> relfilenode of every user table and materialized view."""
        rows = self.query(
            db,
            "SELECT n.nspname || '.' || c.relname, c.relfilenode FROM pg_catalog.pg_class c"
            " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relkind IN ('r', 'm')"
            " AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
            " AND n.nspname NOT LIKE 'pg\\_toast%'",
        )
        return {r[0]: int(r[1]) for r in rows}

    def _maintenance_db(self) -> str:
        return self.conn.param("maintenance_db", "postgres")

    def table_exists(self, db, table: str) -> bool:
        """Unqualified table visible on the search path."""
        return self.query(db, "SELECT to_regclass(%s) IS NOT NULL", (self.quote(table),))[0][0]

    def tracking_table_ddl(self, table: str) -> str:
        """Prisma's PostgreSQL DDL (sql-schema-connector flavour/postgres.rs)."""
        return f"""CREATE TABLE {self.quote(table)} (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)"""

    @property
    def error_types(self) -> tuple[type[BaseException], ...]:
        """psycopg.Error."""
        import psycopg

        return (psycopg.Error,)

    def describe_error(self, exc: BaseException) -> tuple[str | None, str]:
        """SQLSTATE and the server's message (with its detail and hint)."""
        diag = getattr(exc, "diag", None)
        message = getattr(diag, "message_primary", None) or str(exc).strip()
        for label in ("detail", "hint"):
            extra = getattr(diag, f"message_{label}", None)
            if extra:
                message += f"\n{label.upper()}: {extra}"
        return getattr(exc, "sqlstate", None), redact_text(message, [self.conn.password or ""])

    def is_lock_timeout(self, exc: BaseException) -> bool:
        """SQLSTATE 55P03: lock_timeout expired."""
        from faber_db.engines.postgresql import lock_waits

        return getattr(exc, "sqlstate", None) == lock_waits.LOCK_NOT_AVAILABLE

    def session_id(self, db) -> int | None:
        """pg_backend_pid()."""
        return int(self.query(db, "SELECT pg_backend_pid()")[0][0])

    def lock_blockers(self, monitor, session: int | None) -> list[dict]:
        """pg_blocking_pids joined with pg_stat_activity."""
        from faber_db.engines.postgresql import lock_waits

        return lock_waits.blockers(self, monitor, session)

    def end_session_command(self, pid: int) -> str:
        """pg_terminate_backend ends the session and rolls its transaction back."""
        return f"SELECT pg_terminate_backend({int(pid)})"

    lists_transactions = True

    def open_transactions(self, db) -> list[dict]:
        """pg_stat_activity's client sessions in a transaction on this database."""
        from faber_db.engines.postgresql import lock_waits

        return lock_waits.open_transactions(self, db)

    def backup_tool_problem(self, tool_version: str, server_version: str) -> tuple[str, str] | None:
        """pg_dump refuses a server of a newer major version than its own."""
        from faber_db.engines.postgresql import lock_waits

        return lock_waits.pg_dump_problem(tool_version, server_version)

    def clean_up_failed_statement(self, db, sql: str, lock_seconds: float | None) -> list[str]:
        """Drop the INVALID index of a failed CREATE INDEX CONCURRENTLY."""
        from faber_db.engines.postgresql import lock_waits

        return lock_waits.drop_invalid_index(self, db, sql, lock_seconds)

    @contextmanager
    def deploy_lock(self, db, timeout: float) -> Iterator[None]:
        """Prisma's session advisory lock, polled with pg_try_advisory_lock until timeout."""
        deadline = time.monotonic() + timeout
        while not self.query(db, "SELECT pg_try_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))[0][0]:
            if time.monotonic() >= deadline:
                raise LockTimeoutError(
                    f"Another run changing PostgreSQL database '{self.conn.database}' "
                    "(migrate, resolve, restore, rollback or prisma migrate deploy) holds "
                    f"its lock (advisory lock {ADVISORY_LOCK_KEY}); waited {timeout:g}s.",
                    suggestions=["Wait for the other deploy to finish, then retry"],
                )
            time.sleep(0.1)
        try:
            yield
        finally:
            self._unlock(db)

    def _unlock(self, db) -> None:
        # A broken session has released its locks already.
        with suppress(self.error_types):
            self.query(db, "SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))

    @contextmanager
    def snapshot(self, db) -> Iterator[Snapshot]:
        """Export a repeatable-read snapshot that pg_dump imports with --snapshot."""
        db.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        snapshot_id = self.query(db, "SELECT pg_export_snapshot()")[0][0]
        yield Snapshot(handler_env={"FABER_PG_SNAPSHOT": snapshot_id}, exact=True)
        # Only on success: after a failure the session is abandoned, which ends the transaction.
        db.execute("ROLLBACK")

    def handler_environment(self, secrets: SecretFiles) -> dict[str, str]:
        """libpq variables; the password goes to a private PGPASSFILE."""
        env = {"PGDATABASE": self.conn.database, "PGAPPNAME": "faber-db"}
        if self.conn.host:
            env["PGHOST"] = self.conn.host
        if self.conn.port:
            env["PGPORT"] = str(self.conn.port)
        if self.conn.user:
            env["PGUSER"] = self.conn.user
        for param, variable in LIBPQ_PARAMS.items():
            if self.conn.param(param):
                env[variable] = self.conn.param(param)
        if self.conn.password is not None:
            env["PGPASSFILE"] = secrets.add(
                "pgpass", pgpass_line(self.conn.user or "", self.conn.password)
            )
        return env
