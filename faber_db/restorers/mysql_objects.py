"""MySQL/MariaDB schema objects that RENAME TABLE cannot move between schemas:
views, triggers, routines and events. They are captured as their SHOW CREATE
text (with `scratch`. qualifiers rewritten to the target), dropped, and
re-created; every step is idempotent so an interrupted swap can be replayed."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import pymysql

from faber_db.engines.base import Engine

# kind -> (information_schema query for names in a schema, SHOW CREATE column indexes)
LISTINGS = {
    "procedure": "SELECT ROUTINE_NAME FROM information_schema.ROUTINES"
    " WHERE ROUTINE_SCHEMA = %s AND ROUTINE_TYPE = 'PROCEDURE' ORDER BY 1",
    "function": "SELECT ROUTINE_NAME FROM information_schema.ROUTINES"
    " WHERE ROUTINE_SCHEMA = %s AND ROUTINE_TYPE = 'FUNCTION' ORDER BY 1",
    "view": "SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = %s ORDER BY 1",
    # creation order keeps the firing order (ACTION_ORDER) of several triggers per event
    "trigger": "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %s"
    " ORDER BY EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER",
    "event": "SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = %s ORDER BY 1",
}
# SHOW CREATE <kind>: (index of the CREATE text, index of sql_mode or None)
SHOW_CREATE_COLUMNS = {
    "procedure": (2, 1),
    "function": (2, 1),
    "view": (1, None),
    "trigger": (2, 1),
    "event": (3, 1),
}
KINDS = tuple(LISTINGS)  # routines, then views (they may call functions), then triggers, events


@dataclass(frozen=True)
class SchemaObject:
    """One object and the statement that re-creates it in the target schema."""

    kind: str
    name: str
    create: str
    sql_mode: str | None = None

    def to_dict(self) -> dict:
        """Journal form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> SchemaObject:
        """From the journal."""
        return cls(**data)


def list_relations(engine: Engine, db, schema: str) -> list[str]:
    """Everything RENAME TABLE moves: base tables, sequences, system-versioned tables."""
    rows = engine.query(
        db,
        "SELECT TABLE_NAME FROM information_schema.TABLES"
        " WHERE TABLE_SCHEMA = %s AND TABLE_TYPE <> 'VIEW' ORDER BY 1",
        (schema,),
    )
    return [row[0] for row in rows]


def capture(
    engine: Engine, db, schema: str, rewrite_to: str, kinds: tuple[str, ...] = KINDS
) -> list[SchemaObject]:
    """Every view, trigger, routine and event of `schema`, ready to create in `rewrite_to`."""
    qualifier = re.compile(re.escape(engine.quote(schema)) + r"\.")
    replacement = engine.quote(rewrite_to).replace("\\", "\\\\") + "."
    objects = []
    for kind in kinds:
        for (name,) in engine.query(db, LISTINGS[kind], (schema,)):
            create, sql_mode = _show_create(engine, db, kind, schema, name)
            objects.append(SchemaObject(kind, name, qualifier.sub(replacement, create), sql_mode))
    return objects


def _show_create(engine: Engine, db, kind: str, schema: str, name: str) -> tuple[str, str | None]:
    row = engine.query(
        db, f"SHOW CREATE {kind.upper()} {engine.quote(schema)}.{engine.quote(name)}"
    )[0]
    create_index, mode_index = SHOW_CREATE_COLUMNS[kind]
    if row[create_index] is None:
        raise PermissionError(f"no privilege to read the definition of {kind} {schema}.{name}")
    return row[create_index], (row[mode_index] if mode_index is not None else None)


def pause_events(engine: Engine, db, schema: str, rewrite_to: str) -> list[SchemaObject]:
    """Capture `schema`'s events as restored, then DISABLE them there: with the event
    scheduler on, an event loaded into a scratch schema would otherwise run on the
    restored rows before they are checked and swapped in. The captured definitions
    (enabled or not, as backed up) are what the target gets."""
    events = capture(engine, db, schema, rewrite_to, kinds=("event",))
    for obj in events:
        engine.query(db, f"ALTER EVENT {engine.quote(schema)}.{engine.quote(obj.name)} DISABLE")
    return events


def drop(engine: Engine, db, schema: str, obj: SchemaObject) -> None:
    """DROP <kind> IF EXISTS schema.name."""
    engine.query(
        db, f"DROP {obj.kind.upper()} IF EXISTS {engine.quote(schema)}.{engine.quote(obj.name)}"
    )


def create(engine: Engine, db, schema: str, obj: SchemaObject) -> None:
    """(Re-)create one object in `schema` (the connection's current database)."""
    drop(engine, db, schema, obj)
    if obj.sql_mode is not None:
        engine.query(db, "SET SESSION sql_mode = %s", (obj.sql_mode,))
    engine.query(db, obj.create)


def create_all(engine: Engine, db, schema: str, objects: list[SchemaObject]) -> list[str]:
    """Create objects, retrying views that depend on views not yet created; return failures
    (the caller reports them, and verification fails on the schema fingerprint)."""
    pending, failures = list(objects), {}
    while pending:
        retry = []
        for obj in pending:
            try:
                create(engine, db, schema, obj)
            except pymysql.MySQLError as exc:
                failures[(obj.kind, obj.name)] = f"{obj.kind} {obj.name}: {exc}"
                retry.append(obj)
            else:
                failures.pop((obj.kind, obj.name), None)
        if len(retry) == len(pending):
            break
        pending = retry
    return list(failures.values())
