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
# SHOW CREATE <kind>: the column index of each part of the creation context
SHOW_CREATE_COLUMNS = {
    "procedure": {"create": 2, "sql_mode": 1, "charset": 3, "collation": 4},
    "function": {"create": 2, "sql_mode": 1, "charset": 3, "collation": 4},
    "view": {"create": 1, "charset": 2, "collation": 3},
    "trigger": {"create": 2, "sql_mode": 1, "charset": 3, "collation": 4},
    "event": {"create": 3, "sql_mode": 1, "time_zone": 2, "charset": 4, "collation": 5},
}
# The Python codec that writes a statement in a MySQL client character set (MySQL's
# latin1 is Windows-1252). A statement in another one is sent only when it is ASCII.
CLIENT_CODECS = {
    "utf8mb4": "utf-8",
    "utf8mb3": "utf-8",
    "utf8": "utf-8",
    "latin1": "cp1252",
    "ascii": "ascii",
    "binary": "latin-1",
}
# ER_SPECIFIC_ACCESS_DENIED_ERROR, ER_NO_SUCH_USER: the DEFINER cannot be set or exists not
DEFINER_ERRORS = (1227, 1449)
DEFINER = re.compile(
    r"\sDEFINER\s*=\s*(`(?:[^`]|``)*`|'(?:[^']|'')*'|\S+?)@(`(?:[^`]|``)*`|'(?:[^']|'')*'|\S+)"
)
KINDS = tuple(LISTINGS)  # routines, then views (they may call functions), then triggers, events


@dataclass(frozen=True)
class SchemaObject:
    """One object and the statement that re-creates it in the target schema."""

    kind: str
    name: str
    create: str
    sql_mode: str | None = None
    character_set_client: str | None = None
    collation_connection: str | None = None
    time_zone: str | None = None

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
            context = _show_create(engine, db, kind, schema, name)
            context["create"] = qualifier.sub(replacement, context["create"])
            objects.append(SchemaObject(kind, name, **context))
    return objects


def _show_create(engine: Engine, db, kind: str, schema: str, name: str) -> dict:
    """The CREATE text and the context it was created in, as SchemaObject fields."""
    row = engine.query(
        db, f"SHOW CREATE {kind.upper()} {engine.quote(schema)}.{engine.quote(name)}"
    )[0]
    columns = SHOW_CREATE_COLUMNS[kind]
    if row[columns["create"]] is None:
        raise PermissionError(f"no privilege to read the definition of {kind} {schema}.{name}")
    fields = {
        "create": "create",
        "sql_mode": "sql_mode",
        "charset": "character_set_client",
        "collation": "collation_connection",
        "time_zone": "time_zone",
    }
    return {field: row[columns[part]] for part, field in fields.items() if part in columns}


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


def create(engine: Engine, db, schema: str, obj: SchemaObject) -> str | None:
    """(Re-)create one object in `schema` (the connection's current database) in the
    context it was created in (sql_mode, client character set and collation, time
    zone), so that the server stores it exactly as before. Returns a note when its
    DEFINER could not be kept (the restoring user may not set it)."""
    drop(engine, db, schema, obj)
    saved = engine.query(
        db, "SELECT @@SESSION.sql_mode, @@SESSION.time_zone, @@SESSION.collation_connection"
    )[0]
    try:
        _set_context(engine, db, obj)
        statement = _encoded(obj)
        try:
            engine.query(db, statement)
        except pymysql.MySQLError as exc:
            if not exc.args or exc.args[0] not in DEFINER_ERRORS or not DEFINER.search(obj.create):
                raise
            engine.query(db, _encoded(obj, DEFINER.sub("", obj.create, count=1)))
            return (
                f"{obj.kind} {obj.name} was re-created with the restoring user as its definer "
                f"(the original DEFINER could not be set: {exc.args[-1]})"
            )
    finally:
        # Back to the driver's own encoding, or later statements would be misread.
        engine.query(db, f"SET NAMES {db.charset}")
        engine.query(
            db,
            "SET SESSION sql_mode = %s, time_zone = %s, collation_connection = %s",
            saved,
        )
    return None


def _set_context(engine: Engine, db, obj: SchemaObject) -> None:
    if obj.sql_mode is not None:
        engine.query(db, "SET SESSION sql_mode = %s", (obj.sql_mode,))
    if obj.time_zone is not None:
        engine.query(db, "SET SESSION time_zone = %s", (obj.time_zone,))
    if obj.character_set_client is not None:
        engine.query(db, "SET SESSION character_set_client = %s", (obj.character_set_client,))
    if obj.collation_connection is not None:
        engine.query(db, "SET SESSION collation_connection = %s", (obj.collation_connection,))


def _encoded(obj: SchemaObject, text: str | None = None) -> bytes | str:
    """The statement as bytes in the object's client character set (the server reads
    it in that set); unchanged when the object carries none."""
    text = obj.create if text is None else text
    if obj.character_set_client is None:
        return text
    codec = CLIENT_CODECS.get(obj.character_set_client)
    if codec is None:
        codec = "ascii"  # an unusual set: exact only for ASCII text, else refused below
    try:
        return text.encode(codec)
    except UnicodeEncodeError:
        raise pymysql.err.DataError(
            0,
            f"cannot write the definition of {obj.kind} {obj.name} in its client character "
            f"set {obj.character_set_client}",
        ) from None


def create_all(
    engine: Engine,
    db,
    schema: str,
    objects: list[SchemaObject],
    notes: list[str] | None = None,
) -> list[str]:
    """Create objects, retrying views that depend on views not yet created; return failures
    (the caller reports them, and verification fails on the schema fingerprint). Notes
    about objects re-created with another definer go to `notes`."""
    pending, failures = list(objects), {}
    while pending:
        retry = []
        for obj in pending:
            try:
                note = create(engine, db, schema, obj)
                if note and notes is not None:
                    notes.append(note)
            except pymysql.MySQLError as exc:
                failures[(obj.kind, obj.name)] = f"{obj.kind} {obj.name}: {exc}"
                retry.append(obj)
            else:
                failures.pop((obj.kind, obj.name), None)
        if len(retry) == len(pending):
            break
        pending = retry
    return list(failures.values())
