"""What a SQLite database's schema holds, object by object, read from sqlite_master
and the table-valued pragmas, for drift detection (faber_db/health_checker): tables,
columns, primary keys, foreign keys, unique constraints, indexes (with their partial
predicate), views and triggers.

The result maps object type -> object name -> attributes (plain values, JSON-ready);
the key "table" names the table an object belongs to and is not compared. SQLite
keeps no catalogue of CHECK constraints apart from the CREATE TABLE text, so a
table's "checks" are the CHECK (...) clauses found in that text; column collations
are not compared. Views and triggers are compared through their CREATE text, with
whitespace runs squashed.
"""

from __future__ import annotations

import re

TABLES = (
    "SELECT name, sql FROM sqlite_master WHERE type = 'table'"
    " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
)
WHERE_CLAUSE = re.compile(r"\bWHERE\b(?P<predicate>.*)$", re.IGNORECASE | re.DOTALL)


def introspect(engine, db) -> dict[str, dict[str, dict]]:
    """Every schema object of the connected database (see the module docstring)."""

    def rows(sql: str, params: tuple = ()) -> list[tuple]:
        return engine.query(db, sql, params)

    schema: dict[str, dict[str, dict]] = {
        kind: {} for kind in ("table", "column", "primary_key", "foreign_key", "unique", "index")
    }
    for table, sql in rows(TABLES):
        schema["table"][table] = {"checks": _checks(sql)}
        _add_columns(schema, table, rows("SELECT * FROM pragma_table_xinfo(?)", (table,)))
        _add_foreign_keys(schema, table, rows("SELECT * FROM pragma_foreign_key_list(?)", (table,)))
        _add_indexes(schema, table, rows)
    schema["view"] = {
        name: {"definition": _squash(sql)}
        for name, sql in rows("SELECT name, sql FROM sqlite_master WHERE type = 'view'")
    }
    schema["trigger"] = {
        f"{table}.{name}": {"table": table, "definition": _squash(sql)}
        for name, table, sql in rows(
            "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'"
        )
    }
    return schema


def _add_columns(schema: dict, table: str, columns: list[tuple]) -> None:
    key = sorted((pk, name) for _, name, _, _, _, pk, _ in columns if pk)
    if key:
        schema["primary_key"][f"{table}.PRIMARY"] = {
            "table": table,
            "columns": [name for _, name in key],
        }
    for _, name, data_type, not_null, default, pk, hidden in columns:
        schema["column"][f"{table}.{name}"] = {
            "table": table,
            "type": data_type,
            "nullable": not not_null and not pk,
            "default": default,
            "generated": {2: "virtual", 3: "stored"}.get(hidden),
        }


def _add_foreign_keys(schema: dict, table: str, rows: list[tuple]) -> None:
    keys: dict[int, dict] = {}
    for key_id, _seq, target, column, target_column, on_update, on_delete, _match in rows:
        key = keys.setdefault(
            key_id,
            {
                "table": table,
                "columns": [],
                "target": target,
                "target_columns": [],
                "on_update": on_update,
                "on_delete": on_delete,
            },
        )
        key["columns"].append(column)
        key["target_columns"].append(target_column)
    for key in keys.values():
        name = f"{table}({','.join(key['columns'])})->{key['target']}"
        schema["foreign_key"][name] = key


def _add_indexes(schema: dict, table: str, rows) -> None:
    for _, name, unique, origin, partial in rows("SELECT * FROM pragma_index_list(?)", (table,)):
        if origin == "pk":
            continue
        columns = [
            (column if column is not None else "<expression>") + (" DESC" if desc else "")
            for _, _, column, desc, _, key in rows("SELECT * FROM pragma_index_xinfo(?)", (name,))
            if key
        ]
        if origin == "u":
            schema["unique"][f"{table}.({','.join(columns)})"] = {
                "table": table,
                "columns": columns,
            }
            continue
        sql = rows("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?", (name,))
        schema["index"][name] = {
            "table": table,
            "columns": columns,
            "unique": bool(unique),
            "predicate": _predicate(sql[0][0] if sql else None) if partial else None,
        }


def _predicate(sql: str | None) -> str | None:
    """The WHERE clause of a partial index's CREATE INDEX text."""
    match = WHERE_CLAUSE.search(sql or "")
    return _squash(match.group("predicate")) if match else None


def _checks(sql: str | None) -> list[str]:
    """The CHECK (...) clauses of a CREATE TABLE text, in order (balanced parentheses)."""
    found, text = [], sql or ""
    for match in re.finditer(r"\bCHECK\s*\(", text, re.IGNORECASE):
        depth, start = 0, match.end() - 1
        for position in range(start, len(text)):
            depth += {"(": 1, ")": -1}.get(text[position], 0)
            if depth == 0:
                found.append(_squash(text[start : position + 1]))
                break
    return found


def _squash(text: str | None) -> str | None:
    """Whitespace runs as one space: layout is not part of a definition."""
    return " ".join(text.split()) if text is not None else None


def drop_objects(engine, db, schema: dict[str, dict[str, dict]]) -> None:
    """Drop every view and table a schema model lists (their indexes and triggers go
    with them), with foreign keys off so the order does not matter."""
    quote = engine.quote
    engine.query(db, "PRAGMA foreign_keys = OFF")
    try:
        for name in schema.get("view", {}):
            engine.query(db, f"DROP VIEW IF EXISTS {quote(name)}")
        for name in schema.get("table", {}):
            engine.query(db, f"DROP TABLE IF EXISTS {quote(name)}")
    finally:
        engine.query(db, "PRAGMA foreign_keys = ON")
