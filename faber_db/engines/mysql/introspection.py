"""What a MySQL/MariaDB schema holds, object by object, read from information_schema
for drift detection (faber_db/health_checker): tables, columns, primary keys, check
constraints, foreign keys, indexes (UNIQUE constraints are unique indexes here),
views, triggers, routines, sequences (MariaDB) and events.

The result maps object type -> object name -> attributes (plain values, JSON-ready);
the key "table" names the table an object belongs to and is not compared. Names are
unqualified and `schema`. qualifiers are removed from bodies, so a scratch schema
built by the same migrations reads the same. Definers, creation times and event
start times are left out (they differ between two honest copies).
"""

from __future__ import annotations

from faber_db.engines.mysql.engine import strip_schema_name

TABLES = (
    "SELECT TABLE_NAME, TABLE_TYPE, ENGINE, TABLE_COLLATION FROM information_schema.TABLES"
    " WHERE TABLE_SCHEMA = DATABASE()"
)
COLUMNS = (
    "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA,"
    " GENERATION_EXPRESSION, COLLATION_NAME, CHARACTER_SET_NAME FROM information_schema.COLUMNS"
    " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (SELECT TABLE_NAME FROM"
    " information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE')"
)
INDEXES = (
    "SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, INDEX_TYPE,"
    " GROUP_CONCAT(CONCAT(COLUMN_NAME, IFNULL(CONCAT('(', SUB_PART, ')'), ''),"
    " IF(COLLATION = 'D', ' DESC', '')) ORDER BY SEQ_IN_INDEX SEPARATOR '\\t')"
    " FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE()"
    " GROUP BY TABLE_NAME, INDEX_NAME, NON_UNIQUE, INDEX_TYPE"
)
FOREIGN_KEYS = (
    "SELECT k.TABLE_NAME, k.CONSTRAINT_NAME,"
    " GROUP_CONCAT(k.COLUMN_NAME ORDER BY k.ORDINAL_POSITION SEPARATOR '\\t'),"
    " k.REFERENCED_TABLE_SCHEMA = DATABASE(), k.REFERENCED_TABLE_NAME,"
    " GROUP_CONCAT(k.REFERENCED_COLUMN_NAME ORDER BY k.ORDINAL_POSITION SEPARATOR '\\t'),"
    " r.UPDATE_RULE, r.DELETE_RULE FROM information_schema.KEY_COLUMN_USAGE k"
    " JOIN information_schema.REFERENTIAL_CONSTRAINTS r ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA"
    " AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND r.TABLE_NAME = k.TABLE_NAME"
    " WHERE k.TABLE_SCHEMA = DATABASE() GROUP BY k.TABLE_NAME, k.CONSTRAINT_NAME,"
    " k.REFERENCED_TABLE_SCHEMA, k.REFERENCED_TABLE_NAME, r.UPDATE_RULE, r.DELETE_RULE"
)
# MariaDB names a check constraint per table (CHECK_CONSTRAINTS has TABLE_NAME);
# MySQL 8 per schema (it has not).
CHECKS_MARIADB = (
    "SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS"
    " WHERE CONSTRAINT_SCHEMA = DATABASE()"
)
CHECKS_MYSQL = (
    "SELECT tc.TABLE_NAME, tc.CONSTRAINT_NAME, cc.CHECK_CLAUSE"
    " FROM information_schema.TABLE_CONSTRAINTS tc JOIN information_schema.CHECK_CONSTRAINTS cc"
    " ON cc.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA AND cc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME"
    " WHERE tc.TABLE_SCHEMA = DATABASE() AND tc.CONSTRAINT_TYPE = 'CHECK'"
)
HAS_CHECK_TABLE_NAME = (
    "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'information_schema'"
    " AND TABLE_NAME = 'CHECK_CONSTRAINTS' AND COLUMN_NAME = 'TABLE_NAME'"
)
VIEWS = (
    "SELECT TABLE_NAME, VIEW_DEFINITION, CHECK_OPTION FROM information_schema.VIEWS"
    " WHERE TABLE_SCHEMA = DATABASE()"
)
TRIGGERS = (
    "SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_STATEMENT"
    " FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()"
)
ROUTINES = (
    "SELECT ROUTINE_NAME, ROUTINE_TYPE, DTD_IDENTIFIER, ROUTINE_DEFINITION, IS_DETERMINISTIC,"
    " SQL_DATA_ACCESS FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()"
)
EVENTS = (
    "SELECT EVENT_NAME, EVENT_TYPE, INTERVAL_VALUE, INTERVAL_FIELD, EVENT_DEFINITION, STATUS,"
    " ON_COMPLETION FROM information_schema.EVENTS WHERE EVENT_SCHEMA = DATABASE()"
)


def introspect(engine, db) -> dict[str, dict[str, dict]]:
    """Every schema object of the connected schema (see the module docstring)."""
    own = engine.query(db, "SELECT DATABASE()")[0][0]

    def rows(sql: str) -> list[tuple]:
        return engine.query(db, sql)

    tables = rows(TABLES)
    schema: dict[str, dict[str, dict]] = {
        "table": {
            name: {"engine": eng, "collation": coll}
            for name, kind, eng, coll in tables
            if kind == "BASE TABLE"
        },
        "sequence": {name: {} for name, kind, *_ in tables if kind == "SEQUENCE"},
        "column": {f"{row[0]}.{row[1]}": _column(own, *row) for row in rows(COLUMNS)},
    }
    _add_indexes(schema, rows(INDEXES))
    schema["foreign_key"] = {f"{row[0]}.{row[1]}": _foreign_key(*row) for row in rows(FOREIGN_KEYS)}
    checks = CHECKS_MARIADB if rows(HAS_CHECK_TABLE_NAME)[0][0] else CHECKS_MYSQL
    schema["check"] = {
        f"{table}.{name}": {"table": table, "definition": _squash(strip_schema_name(text, own))}
        for table, name, text in rows(checks)
    }
    schema["view"] = {
        name: {"definition": _squash(strip_schema_name(text or "", own)), "check_option": option}
        for name, text, option in rows(VIEWS)
    }
    schema["trigger"] = {
        f"{table}.{name}": {
            "table": table,
            "timing": timing,
            "event": event,
            "definition": _squash(strip_schema_name(body or "", own)),
        }
        for name, table, timing, event, body in rows(TRIGGERS)
    }
    schema["function"] = {
        name: {
            "kind": kind.lower(),
            "returns": returns,
            "definition": _squash(strip_schema_name(body or "", own)),
            "deterministic": deterministic,
            "data_access": access,
        }
        for name, kind, returns, body, deterministic, access in rows(ROUTINES)
    }
    schema["event"] = {
        name: {
            "type": kind,
            "every": f"{value} {field}" if value is not None else None,
            "definition": _squash(strip_schema_name(body or "", own)),
            "status": status,
            "on_completion": completion,
        }
        for name, kind, value, field, body, status, completion in rows(EVENTS)
    }
    return schema


def _column(own, table, _name, data_type, nullable, default, extra, expression, coll, charset):
    extra = (extra or "").strip()
    generated = None
    if "GENERATED" in extra.upper():
        generated = _squash(strip_schema_name(expression or "", own)) + (
            " STORED" if "STORED" in extra.upper() or "PERSISTENT" in extra.upper() else ""
        )
        extra = ""
    return {
        "table": table,
        "type": data_type,
        "nullable": nullable == "YES",
        # MariaDB writes the string NULL for "no default" of a nullable column (a
        # literal 'NULL' is quoted there); MySQL writes SQL NULL.
        "default": None if generated or default == "NULL" else default,
        "generated": generated,
        "extra": extra.lower() or None,
        "collation": coll,
        "charset": charset,
    }


def _add_indexes(schema: dict, rows) -> None:
    schema["primary_key"], schema["index"] = {}, {}
    for table, name, non_unique, method, columns in rows:
        parts = columns.split("\t")
        if name == "PRIMARY":
            schema["primary_key"][f"{table}.PRIMARY"] = {"table": table, "columns": parts}
            continue
        schema["index"][f"{table}.{name}"] = {
            "table": table,
            "columns": parts,
            "unique": not int(non_unique),
            "method": method,
        }


def _foreign_key(table, _name, columns, same_schema, target, target_columns, upd, dele):
    return {
        "table": table,
        "columns": columns.split("\t"),
        "target": target if same_schema else f"(another schema).{target}",
        "target_columns": target_columns.split("\t"),
        "on_update": upd,
        "on_delete": dele,
    }


def _squash(text: str | None) -> str | None:
    """Whitespace runs as one space: layout is not part of a definition."""
    return " ".join(text.split()) if text is not None else None


def drop_objects(engine, db, schema: dict[str, dict[str, dict]]) -> None:
    """Drop every event, routine, view, table and sequence a schema model lists
    (foreign key checks off for the session while the tables go)."""
    quote = engine.quote
    statements = [f"DROP EVENT IF EXISTS {quote(n)}" for n in schema.get("event", {})]
    statements += [
        f"DROP {a['kind'].upper()} IF EXISTS {quote(n)}"
        for n, a in schema.get("function", {}).items()
    ]
    statements += [f"DROP VIEW IF EXISTS {quote(n)}" for n in schema.get("view", {})]
    statements += [f"DROP TABLE IF EXISTS {quote(n)}" for n in schema.get("table", {})]
    statements += [f"DROP SEQUENCE IF EXISTS {quote(n)}" for n in schema.get("sequence", {})]
    engine.query(db, "SET SESSION FOREIGN_KEY_CHECKS = 0")
    try:
        for statement in statements:
            engine.query(db, statement)
    finally:
        engine.query(db, "SET SESSION FOREIGN_KEY_CHECKS = 1")
