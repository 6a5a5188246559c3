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

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from faber_db.engines.base import Engine
from faber_db.restorers.base import (
    BackupSource,
    Restorer,
    StagedCheck,
    scratch_owner_gone,
    scratch_suffix,
)
from faber_db.workspace import partial_workspace

SCRATCH_PREFIX = "faber_verify"


class PostgresRestorer(Restorer):
    """In-place single-transaction restore; scratch databases only for deep verify."""

    engine_name = "postgresql"
    driver_errors = (psycopg.Error,)

    def restore(self, source: BackupSource, check: StagedCheck) -> None:
        """Load the backup into the target in one transaction that commits only if every
        table's row count and the migration history match the backup's manifest."""
        self.context.work_root.mkdir(mode=0o700, parents=True, exist_ok=True)
        with partial_workspace(self.context.work_root) as directory:
            check_sql = directory / "check.sql"
            check_sql.write_text(self.precommit_checks(source), encoding="utf-8")
            self._load(source, self.database, "restoring (one transaction)", check_sql)

    def precommit_checks(self, source: BackupSource) -> str:
        """A DO block, run just before COMMIT, that raises (so the transaction rolls back)
        when a restored table's row count or the migration history differs from the
        manifest. The schema fingerprint is compared after the commit.

        Every table was created by this transaction, so the rows it inserted into each
        (pg_stat_xact_all_tables) are its row count, known without reading the table;
        a table whose figure differs (a partitioned or inherited table, whose rows sit
        in other tables) is counted with count(*) before anything is concluded."""
        manifest, migrations = source.entry.manifest, source.entry.migrations
        lines = [
            "RESET search_path;",
            "DO $faber_check$",
            "DECLARE n bigint; names text[];",
            "BEGIN",
        ]
        if manifest.get("row_counts_exact", True):
            for table, expected in sorted(manifest["tables"].items()):
                quoted = self.engine.quote_table(table)
                lines += [
                    "  SELECT s.n_tup_ins - s.n_tup_del INTO n FROM pg_stat_xact_all_tables s"
                    f" WHERE s.relid = to_regclass({_literal(quoted)});",
                    f"  IF n IS DISTINCT FROM {int(expected)} THEN"
                    f" SELECT count(*) INTO n FROM {quoted}; END IF;",
                    f"  IF n <> {int(expected)} THEN RAISE EXCEPTION 'faber-db: % has % rows, the backup"
                    f" recorded {int(expected)}', {_literal(table)}, n; END IF;",
                ]
        if migrations.get("table_present"):
            tracking = self.engine.quote(self.context.config.migrations_table)
            expected_names = ", ".join(_literal(name) for name in migrations["migrations_list"])
            lines += [
                "  SELECT coalesce(array_agg(migration_name::text ORDER BY started_at, migration_name),"
                f" '{{}}') INTO names FROM {tracking}"
                " WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL;",
                f"  IF names <> ARRAY[{expected_names}]::text[] THEN RAISE EXCEPTION"
                " 'faber-db: the restored migration history differs from the backup''s'; END IF;",
            ]
        return "\n".join([*lines, "END", "$faber_check$;", ""])

    @contextmanager
    def scratch_copy(self, source: BackupSource) -> Iterator[Engine]:
        """CREATE DATABASE faber_verify_..., restore into it, yield it, drop it."""
        name = SCRATCH_PREFIX + scratch_suffix("v")
        self.engine.create_database(name)
        try:
            self._load(source, name, "restoring into a scratch database")
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

    def _load(
        self, source: BackupSource, database: str, what: str, check_sql: Path | None = None
    ) -> None:
        analyze = self.context.config.section("restore").get("analyze", True)
        env = source.handler_env() | {
            "PGDATABASE": database,
            "FABER_KEEP_OWNERS": "1" if self._is_superuser() else "0",
            "FABER_ANALYZE": "1" if analyze else "0",
        }
        if check_sql is not None:
            env["FABER_CHECK_SQL"] = str(check_sql)
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


def _literal(text: str) -> str:
    # A string literal for text from our own manifest (standard_conforming_strings is on).
    return "'" + text.replace("'", "''") + "'"


def _why(gone: bool | None) -> str:
    if gone is None:
        return "made on another machine"
    return "dry run" if gone else "its run is still going"
