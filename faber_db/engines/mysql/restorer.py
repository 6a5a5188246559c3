"""MySQL/MariaDB: load the dump into a scratch schema, verify it there, then swap
it in with ONE multi-table RENAME TABLE (target.t -> trash.t, scratch.t ->
target.t for every table), which other sessions see as all old or all new rows.

RENAME cannot move views, and MariaDB refuses to move tables that have triggers
(ER_TRG_IN_WRONG_SCHEMA), so views and triggers are dropped just before the
RENAME and views, triggers, routines and events are re-created from their SHOW
CREATE text right after it. Events are paused in the scratch schema as soon as
it is loaded, so they cannot change the restored rows before the swap; the
target gets them as they were backed up. A journal written before each phase
lets the next run finish a killed restore: forward when the RENAME happened,
back otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pymysql

from faber_db.engines.base import Engine
from faber_db.engines.mysql import objects
from faber_db.engines.mysql.swap_journal import SwapJournal, journal_path, journals_of
from faber_db.engines.restorer import (
    BackupSource,
    Restorer,
    StagedCheck,
    scratch_owner_gone,
    scratch_suffix,
)

MAX_NAME = 64
RENAME_LOCK_WAIT_SECONDS = 120


class MySQLRestorer(Restorer):
    """Scratch schema, verification, one atomic RENAME TABLE, objects re-created."""

    engine_name = "mysql"
    driver_errors = (pymysql.MySQLError,)

    def restore(self, source: BackupSource, check: StagedCheck) -> None:
        """Load into scratch, check it, then swap it in atomically."""
        journal = SwapJournal(
            path=journal_path(
                self.context.config.state_dir, self.context.environment, self.database
            ),
            environment=self.context.environment,
            database=self.database,
            backup_id=source.entry.id,
            scratch=self._scratch_name("r"),
            trash=self._scratch_name("t"),
        )
        journal.save()
        try:
            self._create_schema(journal.scratch)
            self._load(source, journal.scratch, "restoring into a scratch schema")
            events = self._pause_events(journal.scratch)
            check(self.bound_to(journal.scratch))
        except BaseException:
            self._drop_schemas(journal)
            journal.remove()
            raise
        self._swap(journal, events)

    @contextmanager
    def scratch_copy(self, source: BackupSource, name: str | None = None) -> Iterator[Engine]:
        """Load into a scratch schema (`name`, else a verification's name), yield it, drop it."""
        name = name or self._scratch_name("v")
        self._create_schema(name)
        try:
            self._load(source, name, "restoring into a scratch schema")
            self._pause_events(name)
            yield self.bound_to(name)
        finally:
            self.engine.drop_database(name)

    def interrupted(self) -> bool:
        """True when a swap of this environment did not finish (its journal is left)."""
        return bool(journals_of(self.context.config.state_dir, self.context.environment))

    def recover(self, dry_run: bool = False) -> list[str]:
        """Finish or undo interrupted swaps of this environment; drop stale scratch schemas."""
        notes, owned = [], set()
        for path in journals_of(self.context.config.state_dir, self.context.environment):
            journal = SwapJournal.load(path)
            owned |= {journal.scratch, journal.trash}
            if dry_run:
                notes.append(
                    f"an interrupted restore of backup {journal.backup_id} into "
                    f"{journal.database} ({journal.state}) will be finished first"
                )
            else:
                resumer = MySQLRestorer(self.bound_to(journal.database), self.context)
                notes.append(resumer.resume(journal))
                self.warnings += resumer.warnings
        return notes + self._stale_schemas(owned, dry_run)

    def resume(self, journal: SwapJournal) -> str:
        """Complete or undo the restore described by `journal`; say which."""
        what = f"the interrupted restore of backup {journal.backup_id} into {journal.database}"
        if journal.state == "loading":
            self._drop_schemas(journal)
            journal.remove()
            return f"{what} was rolled back ({journal.database} had not been touched)"
        with self.engine.session(self.database) as db:
            if journal.state == "renamed" or self._rename_done(db, journal):
                self._finish(db, journal)
                journal.remove()
                return f"{what} was completed: its tables had already been swapped in"
            self._undo(db, journal)
        journal.remove()
        return f"{what} was rolled back: {journal.database} keeps its old content"

    # -- the swap --------------------------------------------------------------------
    def _swap(self, journal: SwapJournal, events: list[objects.SchemaObject]) -> None:
        self.context.notify("swapping tables in")
        with self.engine.session(self.database) as db:
            try:
                self._capture(db, journal, events)
                self._create_schema(journal.trash)
            except BaseException:
                self._drop_schemas(journal)
                journal.remove()
                raise
            journal.save("swapping")
            try:
                self._drop_for_rename(db, journal)
                self._rename(db, journal)
            except pymysql.MySQLError:
                self._undo(db, journal)
                journal.remove()
                raise
            journal.save("renamed")
            self._finish(db, journal)
        journal.remove()

    def _capture(self, db, journal: SwapJournal, events: list[objects.SchemaObject]) -> None:
        journal.old_tables = objects.list_relations(self.engine, db, self.database)
        journal.new_tables = objects.list_relations(self.engine, db, journal.scratch)
        journal.old_objects = objects.capture(self.engine, db, self.database, self.database)
        # Events as restored, not as paused in the scratch schema.
        not_events = tuple(kind for kind in objects.KINDS if kind != "event")
        restored = objects.capture(self.engine, db, journal.scratch, self.database, not_events)
        journal.new_objects = restored + events

    def _drop_for_rename(self, db, journal: SwapJournal) -> None:
        # Old views go too: a restored table may take the name of a view created later.
        for obj in journal.old_objects:
            if obj.kind in ("trigger", "view"):
                objects.drop(self.engine, db, self.database, obj)
        for obj in journal.new_objects:
            if obj.kind == "trigger":
                objects.drop(self.engine, db, journal.scratch, obj)

    def _rename(self, db, journal: SwapJournal) -> None:
        q = self.engine.quote
        pairs = [
            f"{q(self.database)}.{q(t)} TO {q(journal.trash)}.{q(t)}" for t in journal.old_tables
        ] + [
            f"{q(journal.scratch)}.{q(t)} TO {q(self.database)}.{q(t)}" for t in journal.new_tables
        ]
        if not pairs:
            return
        self.engine.query(db, f"SET SESSION lock_wait_timeout = {RENAME_LOCK_WAIT_SECONDS}")
        self.engine.query(db, "RENAME TABLE " + ", ".join(pairs))

    def _finish(self, db, journal: SwapJournal) -> None:
        for obj in journal.old_objects:
            objects.drop(self.engine, db, self.database, obj)
        failures = objects.create_all(
            self.engine, db, self.database, journal.new_objects, self.warnings
        )
        self.warnings += [f"could not re-create {failure}" for failure in failures]
        self._drop_schemas(journal)

    def _undo(self, db, journal: SwapJournal) -> None:
        old = [obj for obj in journal.old_objects if obj.kind in ("view", "trigger")]
        failures = objects.create_all(self.engine, db, self.database, old, self.warnings)
        self.warnings += [f"could not re-create the old {failure}" for failure in failures]
        self._drop_schemas(journal)

    def _rename_done(self, db, journal: SwapJournal) -> bool:
        # RENAME TABLE is atomic: either every table moved or none did.
        if journal.new_tables:
            left = objects.list_relations(self.engine, db, journal.scratch)
            return not set(journal.new_tables) & set(left)
        parked = objects.list_relations(self.engine, db, journal.trash)
        return set(journal.old_tables) <= set(parked)

    # -- schemas ---------------------------------------------------------------------
    def _scratch_name(self, kind: str) -> str:
        suffix = scratch_suffix(kind)
        return self.database[: MAX_NAME - len(suffix)] + suffix

    def _pause_events(self, schema: str) -> list[objects.SchemaObject]:
        with self.engine.session(schema) as db:
            return objects.pause_events(self.engine, db, schema, self.database)

    def _create_schema(self, name: str) -> None:
        with self.engine.session("") as db:
            rows = self.engine.query(
                db,
                "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME"
                " FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s",
                (self.database,),
            )
            charset, collation = rows[0] if rows else ("utf8mb4", None)
            # Server-reported names, still bound as string literals rather than pasted.
            sql = f"CREATE DATABASE {self.engine.quote(name)} CHARACTER SET %s"
            params: tuple = (charset,)
            if collation:
                sql += " COLLATE %s"
                params += (collation,)
            self.engine.query(db, sql, params)

    def _drop_schemas(self, journal: SwapJournal) -> None:
        with self.engine.session("") as db:
            self.engine.query(db, "SET SESSION foreign_key_checks = 0")
            for name in (journal.scratch, journal.trash):
                self.engine.query(db, f"DROP DATABASE IF EXISTS {self.engine.quote(name)}")

    def _load(self, source: BackupSource, schema: str, what: str) -> None:
        self.run_handler(source.handler_env() | {"FABER_MYSQL_DATABASE": schema}, what)

    def _stale_schemas(self, owned: set[str], dry_run: bool) -> list[str]:
        with self.engine.session("") as db:
            rows = self.engine.query(
                db,
                "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA"
                " WHERE SCHEMA_NAME LIKE %s ORDER BY 1",
                (r"%\_\_faber\_%",),
            )
            notes = []
            for (name,) in rows:
                gone = scratch_owner_gone(name)
                if name in owned or gone is False:
                    continue
                if gone and not dry_run:
                    self.engine.query(db, "SET SESSION foreign_key_checks = 0")
                    self.engine.query(db, f"DROP DATABASE {self.engine.quote(name)}")
                    notes.append(f"dropped {name}, left by an interrupted faber-db run")
                else:
                    reason = "dry run" if gone else "made on another machine"
                    notes.append(f"scratch schema {name} exists (not removed: {reason})")
        return notes
