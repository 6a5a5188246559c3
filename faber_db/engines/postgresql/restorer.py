"""PostgreSQL: restore IN PLACE, in one transaction.

handlers/postgresql/restore-backup.sh drops what the dump recreates and loads
the dump inside a single transaction that is committed only when the whole
stream arrived intact; any failure, lost connection or kill rolls it back, so
the database holds its old content or the new one, never a mix. It needs no
CREATEDB privilege and other sessions keep their connections (they wait on
the restore's locks). Measured against restoring into a scratch database and
swapping by rename: see bench/restore.py.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from faber_db.engines.base import Engine
from faber_db.engines.restorer import (
    BackupSource,
    Restorer,
    StagedCheck,
    scratch_owner_gone,
    scratch_suffix,
)
from faber_db.errors import RestoreFailedError
from faber_db.workspace import partial_workspace

SCRATCH_PREFIX = "faber_verify"
CHECK_TAG = "$faber_check$"
# The pre-commit check. Its only variable part, @SPEC@, is base64 of
# {"tables": [["schema.table", schema, table, rows], ...], "tracking": name,
#  "migrations": [names]}.
CHECK_TEMPLATE = """RESET search_path;
DO $faber_check$
DECLARE
  spec jsonb := pg_catalog.convert_from(pg_catalog.decode('@SPEC@', 'base64'), 'UTF8')::jsonb;
  t jsonb;
  rel regclass;
  schema_name text;
  table_name text;
  expected bigint;
  n bigint;
  names text[];
  recorded text[];
BEGIN
  FOR t IN SELECT value FROM pg_catalog.jsonb_array_elements(spec->'tables') LOOP
    expected := (t->>3)::bigint;
    schema_name := t->>1;
    table_name := t->>2;
    rel := pg_catalog.to_regclass(pg_catalog.format('%I.%I', schema_name, table_name));
    IF rel IS NULL THEN
      -- a schema whose name holds a '.': find the table by its full "schema.table"
      SELECT c.oid, n.nspname, c.relname INTO rel, schema_name, table_name
        FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname || '.' || c.relname = t->>0 AND c.relkind IN ('r', 'p') LIMIT 1;
    END IF;
    IF rel IS NULL THEN
      RAISE EXCEPTION 'faber-db: table % is missing, the backup recorded % rows', t->>0, expected;
    END IF;
    SELECT s.n_tup_ins - s.n_tup_del INTO n FROM pg_catalog.pg_stat_xact_all_tables s
     WHERE s.relid = rel;
    IF n IS DISTINCT FROM expected THEN
      EXECUTE pg_catalog.format('SELECT count(*) FROM %I.%I', schema_name, table_name) INTO n;
    END IF;
    IF n <> expected THEN
      RAISE EXCEPTION 'faber-db: % has % rows, the backup recorded %', t->>0, n, expected;
    END IF;
  END LOOP;
  IF spec ? 'migrations' THEN
    EXECUTE pg_catalog.format('SELECT coalesce(array_agg(migration_name::text'
      ' ORDER BY started_at, migration_name), ''{}'') FROM %I'
      ' WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL', spec->>'tracking') INTO names;
    SELECT coalesce(array_agg(m.value ORDER BY m.ord), '{}') INTO recorded
      FROM pg_catalog.jsonb_array_elements_text(spec->'migrations') WITH ORDINALITY AS m(value, ord);
    IF names IS DISTINCT FROM recorded THEN
      RAISE EXCEPTION 'faber-db: the restored migration history differs from the backup''s';
    END IF;
  END IF;
END
$faber_check$;
"""


class PostgresRestorer(Restorer):
    """In-place single-transaction restore; scratch databases only for deep verify."""

    engine_name = "postgresql"
    driver_errors = (psycopg.Error,)

    def restore(self, source: BackupSource, check: StagedCheck) -> None:
        """Load the backup into the target in one transaction that commits only if every
        table's row count and the migration history match the backup's manifest."""
        self._load_checked(source, self.database, "restoring (one transaction)")

    def precommit_checks(self, source: BackupSource) -> str:
        """A DO block, run just before COMMIT, that raises (so the transaction rolls back)
        when a restored table's row count or the migration history differs from the
        manifest. The schema fingerprint is compared after the commit.

        The manifest's names (tables, schemas, migrations) came from a database that
        anyone with CREATE may have named, so none is pasted into the script: they
        travel as base64 of JSON, decoded on the server, and identifiers are built
        there with format('%I'). The script is then our constant text plus base64, so
        it holds no backslash, and psql can find no meta-command in it."""
        script = CHECK_TEMPLATE.replace("@SPEC@", _base64_json(self._check_spec(source)))
        return psql_safe(script)

    def _check_spec(self, source: BackupSource) -> dict:
        # Every table was created by this transaction, so the rows it inserted into each
        # (pg_stat_xact_all_tables) are its row count, known without reading the table;
        # a table whose figure differs (a partitioned or inherited table, whose rows sit
        # in other tables) is counted with count(*) before anything is concluded.
        manifest, migrations = source.entry.manifest, source.entry.migrations
        spec: dict = {"tables": [], "tracking": self.context.config.migrations_table}
        if manifest.get("row_counts_exact", True):
            for table, expected in sorted(manifest["tables"].items()):
                schema, _, name = table.partition(".")  # else found by its full name
                spec["tables"].append([table, schema, name, int(expected)])
        if migrations.get("table_present"):
            spec["migrations"] = [str(name) for name in migrations["migrations_list"]]
        return spec

    @contextmanager
    def scratch_copy(self, source: BackupSource, name: str | None = None) -> Iterator[Engine]:
        """CREATE DATABASE faber_verify_... (or `name`), restore into it with the same
        pre-commit checks as a real restore (so a backup that restore would refuse fails
        here too), yield it, drop it."""
        name = name or SCRATCH_PREFIX + scratch_suffix("v")
        self.engine.create_database(name)
        try:
            self._load_checked(source, name, "restoring into a scratch database")
            yield self.bound_to(name)
        finally:
            self.engine.drop_database(name)

    def recover(self, dry_run: bool = False) -> list[str]:
        """Drop scratch databases of deep verifications whose process is gone."""
        notes = []
        for name in self._scratch_databases():
            gone = scratch_owner_gone(name)
            if gone and not dry_run:
                self.engine.drop_database(name)
                notes.append(f"dropped {name}, left by an interrupted deep verification")
            elif gone is None or dry_run:
                notes.append(f"scratch database {name} exists (not removed: {_why(gone)})")
        return notes

    def _load_checked(self, source: BackupSource, database: str, what: str) -> None:
        # The restore and the deep verification load through this one path, so they
        # commit (or refuse) exactly the same backups.
        self.context.work_root.mkdir(mode=0o700, parents=True, exist_ok=True)
        with partial_workspace(self.context.work_root) as directory:
            check_sql = directory / "check.sql"
            check_sql.write_text(self.precommit_checks(source), encoding="utf-8")
            self._load(source, database, what, check_sql)

    def _load(self, source: BackupSource, database: str, what: str, check_sql: Path) -> None:
        analyze = self.context.config.section("restore").get("analyze", True)
        env = source.handler_env() | {
            "PGDATABASE": database,
            "FABER_KEEP_OWNERS": "1" if self._is_superuser() else "0",
            "FABER_ANALYZE": "1" if analyze else "0",
            "FABER_CHECK_SQL": str(check_sql),
        }
        self.run_handler(env, what)

    def _is_superuser(self) -> bool:
        # Owners and privileges are restored only when the roles can be set; anyone
        # else gets --no-owner --no-privileges and owns what is restored.
        with self.engine.session(self._maintenance_db()) as db:
            rows = self.engine.query(
                db, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
            )
        return bool(rows and rows[0][0])

    def _scratch_databases(self) -> list[str]:
        with self.engine.session(self._maintenance_db()) as db:
            rows = self.engine.query(
                db,
                "SELECT datname FROM pg_database WHERE datname LIKE %s ORDER BY 1",
                (SCRATCH_PREFIX + r"\_\_faber\_%",),
            )
        return [row[0] for row in rows]

    def _maintenance_db(self) -> str:
        return self.engine.conn.param("maintenance_db", "postgres")


def _base64_json(data: dict) -> str:
    return base64.b64encode(json.dumps(data, ensure_ascii=False).encode("utf-8")).decode("ascii")


def psql_safe(script: str) -> str:
    """`script` if psql can run it as plain SQL; RestoreFailedError otherwise.

    psql reads a backslash outside a quoted string as the start of a meta-command
    (\\! runs a shell command), and whether a backslash is inside a string depends on
    quoting that a hostile name may have broken, so a script faber-db sends through
    psql may hold no backslash at all, and its dollar-quote tag only where we put it."""
    if "\\" in script or script.count(CHECK_TAG) != 2:
        raise RestoreFailedError(
            "faber-db refused to send a generated check script to psql: it holds a backslash "
            "or a stray dollar-quote tag. Nothing was restored.",
            suggestions=["Report this as a faber-db bug"],
        )
    return script


def _why(gone: bool | None) -> str:
    if gone is None:
        return "made on another machine"
    return "dry run" if gone else "its run is still going"
