"""What a PostgreSQL database's schema holds, object by object, read from pg_catalog
for drift detection (faber_db/health_checker): tables, columns, constraints, indexes,
views, triggers, functions, sequences, enum types and extensions.

The result maps object type -> object name -> attributes (plain values, JSON-ready).
The key "table" names the table an object belongs to and is not compared. Owners,
OIDs, ACLs and statistics are left out: two databases built by the same migrations
read the same. Objects of extensions belong to the extension, not to the schema.
"""

from __future__ import annotations

from contextlib import suppress

from faber_db.engines.postgresql.engine import NOT_EXTENSION_MEMBER, USER_SCHEMAS

_REL = "n.nspname || '.' || c.relname"
FK_ACTIONS = {
    "a": "NO ACTION",
    "r": "RESTRICT",
    "c": "CASCADE",
    "n": "SET NULL",
    "d": "SET DEFAULT",
}
CONSTRAINT_TYPES = {"p": "primary_key", "u": "unique", "c": "check", "f": "foreign_key"}
CONSTRAINT_TYPES["x"] = "exclusion"

TABLES = f"""SELECT {_REL}, c.relkind::text, c.relpersistence::text
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE {USER_SCHEMAS} AND c.relkind IN ('r','p')
      AND {NOT_EXTENSION_MEMBER.format(oid="c.oid")}"""
COLUMNS = f"""SELECT {_REL}, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
        pg_get_expr(ad.adbin, ad.adrelid), a.attgenerated::text, a.attidentity::text,
        CASE WHEN a.attcollation <> t.typcollation THEN co.collname END
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_type t ON t.oid = a.atttypid
    LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
    LEFT JOIN pg_collation co ON co.oid = a.attcollation
    WHERE {USER_SCHEMAS} AND c.relkind IN ('r','p') AND a.attnum > 0 AND NOT a.attisdropped
      AND {NOT_EXTENSION_MEMBER.format(oid="c.oid")}"""
CONSTRAINTS = f"""SELECT {_REL}, co.conname, co.contype::text, pg_get_constraintdef(co.oid, true),
        ARRAY(SELECT a.attname FROM unnest(co.conkey) WITH ORDINALITY k(num, pos)
              JOIN pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = k.num
              ORDER BY k.pos),
        (SELECT fn.nspname || '.' || fc.relname FROM pg_class fc
         JOIN pg_namespace fn ON fn.oid = fc.relnamespace WHERE fc.oid = co.confrelid),
        ARRAY(SELECT a.attname FROM unnest(co.confkey) WITH ORDINALITY k(num, pos)
              JOIN pg_attribute a ON a.attrelid = co.confrelid AND a.attnum = k.num
              ORDER BY k.pos),
        co.confupdtype::text, co.confdeltype::text, co.condeferrable, co.convalidated
    FROM pg_constraint co JOIN pg_class c ON c.oid = co.conrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE {USER_SCHEMAS} AND c.relkind IN ('r','p') AND co.contype IN ('p','u','c','f','x')
      AND {NOT_EXTENSION_MEMBER.format(oid="c.oid")}"""
# Indexes that back a constraint are that constraint (reported once, as the constraint).
INDEXES = f"""SELECT n.nspname || '.' || ic.relname, {_REL}, i.indisunique, am.amname,
        pg_get_expr(i.indpred, i.indrelid, true),
        ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, true)
                || CASE WHEN i.indoption[k - 1] & 1 = 1 THEN ' DESC' ELSE '' END
                || CASE WHEN i.indoption[k - 1] & 2 = 2 AND i.indoption[k - 1] & 1 = 0
                        THEN ' NULLS FIRST'
                        WHEN i.indoption[k - 1] & 2 = 0 AND i.indoption[k - 1] & 1 = 1
                        THEN ' NULLS LAST' ELSE '' END
              FROM generate_series(1, i.indnkeyatts) k ORDER BY k),
        ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, true)
              FROM generate_series(i.indnkeyatts + 1, i.indnatts) k ORDER BY k)
    FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
    JOIN pg_class c ON c.oid = i.indrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_am am ON am.oid = ic.relam
    WHERE {USER_SCHEMAS} AND c.relkind IN ('r','p','m')
      AND {NOT_EXTENSION_MEMBER.format(oid="c.oid")}
      AND NOT EXISTS (SELECT 1 FROM pg_constraint co WHERE co.conindid = i.indexrelid
                      AND co.conrelid = i.indrelid AND co.contype IN ('p','u','x'))"""
VIEWS = f"""SELECT {_REL}, c.relkind::text, pg_get_viewdef(c.oid, true)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE {USER_SCHEMAS} AND c.relkind IN ('v','m')
      AND {NOT_EXTENSION_MEMBER.format(oid="c.oid")}"""
TRIGGERS = f"""SELECT {_REL} || '.' || t.tgname, {_REL}, pg_get_triggerdef(t.oid, true),
        t.tgenabled::text
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE {USER_SCHEMAS} AND NOT t.tgisinternal"""
FUNCTIONS = f"""SELECT n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
        p.prokind::text, pg_get_function_result(p.oid), pg_get_functiondef(p.oid)
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE {USER_SCHEMAS} AND p.prokind IN ('f','p')
      AND {NOT_EXTENSION_MEMBER.format(oid="p.oid")}"""
SEQUENCES = f"""SELECT {_REL}, format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement,
        s.seqmin, s.seqmax, s.seqcycle,
        (SELECT d.deptype::text FROM pg_depend d WHERE d.objid = c.oid
           AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a','i') LIMIT 1)
    FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE {USER_SCHEMAS} AND {NOT_EXTENSION_MEMBER.format(oid="c.oid")}"""
ENUMS = f"""SELECT n.nspname || '.' || t.typname,
        ARRAY(SELECT e.enumlabel FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder)
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE {USER_SCHEMAS} AND t.typtype = 'e' AND {NOT_EXTENSION_MEMBER.format(oid="t.oid")}"""
EXTENSIONS = "SELECT extname FROM pg_extension WHERE extname <> 'plpgsql'"


def introspect(engine, db) -> dict[str, dict[str, dict]]:
    """Every schema object of the connected database (see the module docstring)."""
    run = engine.query
    schema: dict[str, dict[str, dict]] = {}
    schema["table"] = {
        name: {"kind": "partitioned" if kind == "p" else "table", "unlogged": persist == "u"}
        for name, kind, persist in run(db, TABLES)
    }
    schema["column"] = {
        f"{table}.{column}": _column(table, *rest) for table, column, *rest in run(db, COLUMNS)
    }
    _add_constraints(schema, run(db, CONSTRAINTS))
    schema["index"] = {row[0]: _index(*row[1:]) for row in run(db, INDEXES)}
    schema["view"] = {
        name: {"kind": "materialized" if kind == "m" else "view", "definition": _squash(text)}
        for name, kind, text in run(db, VIEWS)
    }
    schema["trigger"] = {
        name: {"table": table, "definition": text, "enabled": enabled}
        for name, table, text, enabled in run(db, TRIGGERS)
    }
    schema["function"] = {
        name: {
            "kind": "procedure" if kind == "p" else "function",
            "returns": returns,
            "definition": _squash(text),
        }
        for name, kind, returns, text in run(db, FUNCTIONS)
    }
    schema["sequence"] = {row[0]: _sequence(*row[1:]) for row in run(db, SEQUENCES)}
    schema["enum"] = {name: {"values": list(values)} for name, values in run(db, ENUMS)}
    schema["extension"] = {row[0]: {} for row in run(db, EXTENSIONS)}
    return schema


def _column(table, data_type, not_null, default, generated, identity, collation) -> dict:
    generated_kind = {"s": "stored"}.get(generated or "")
    return {
        "table": table,
        "type": data_type,
        "nullable": not not_null,
        "default": None if generated_kind else default,
        "generated": default if generated_kind else None,
        "identity": {"a": "always", "d": "by default"}.get(identity or ""),
        "collation": collation,
    }


def _add_constraints(schema: dict, rows) -> None:
    for kind in ("primary_key", "unique", "check", "foreign_key", "exclusion"):
        schema[kind] = {}
    for table, name, contype, definition, columns, target, target_columns, upd, dele, *more in rows:
        kind = CONSTRAINT_TYPES[contype]
        attributes = {"table": table, "columns": list(columns)}
        if kind == "check":
            attributes = {"table": table, "definition": definition}
        elif kind == "foreign_key":
            attributes |= {
                "target": target,
                "target_columns": list(target_columns),
                "on_update": FK_ACTIONS.get(upd, upd),
                "on_delete": FK_ACTIONS.get(dele, dele),
                "deferrable": more[0],
            }
        elif kind == "exclusion":
            attributes["definition"] = definition
        schema[kind][f"{table}.{name}"] = attributes


def _index(table, unique, method, predicate, columns, include) -> dict:
    return {
        "table": table,
        "columns": list(columns),
        "include": list(include),
        "unique": unique,
        "method": method,
        "predicate": predicate,
    }


def _sequence(data_type, start, increment, minimum, maximum, cycle, owned) -> dict:
    return {
        "type": data_type,
        "start": int(start),
        "increment": int(increment),
        "min": int(minimum),
        "max": int(maximum),
        "cycle": cycle,
        "owned_by_column": owned is not None,
    }


def _squash(text: str | None) -> str | None:
    """Whitespace runs as one space: layout is not part of a definition."""
    return " ".join(text.split()) if text is not None else None


def drop_objects(engine, db, schema: dict[str, dict[str, dict]]) -> None:
    """Drop every view, table, sequence, function and enum type a schema model lists,
    then the schemas they were in other than public when nothing is left in them."""
    statements = [
        f"DROP {'MATERIALIZED VIEW' if a['kind'] == 'materialized' else 'VIEW'} IF EXISTS"
        f" {_qualified(engine, n)} CASCADE"
        for n, a in schema.get("view", {}).items()
    ]
    statements += [
        f"DROP TABLE IF EXISTS {_qualified(engine, n)} CASCADE" for n in schema.get("table", {})
    ]
    statements += [
        f"DROP SEQUENCE IF EXISTS {_qualified(engine, n)} CASCADE"
        for n in schema.get("sequence", {})
    ]
    for name, attributes in schema.get("function", {}).items():
        signature, arguments = name.split("(", 1)
        statements.append(
            f"DROP {attributes['kind'].upper()} IF EXISTS {_qualified(engine, signature)}"
            f"({arguments} CASCADE"
        )
    statements += [
        f"DROP TYPE IF EXISTS {_qualified(engine, n)} CASCADE" for n in schema.get("enum", {})
    ]
    for statement in statements:
        engine.query(db, statement)
    for namespace in sorted({n.split(".", 1)[0] for kind in schema.values() for n in kind}):
        if namespace != "public" and "." not in namespace:
            with suppress(*engine.error_types):  # not empty: a schema it did not make
                engine.query(db, f"DROP SCHEMA IF EXISTS {engine.quote(namespace)}")


def _qualified(engine, name: str) -> str:
    schema, rest = name.split(".", 1)
    return f"{engine.quote(schema)}.{engine.quote(rest)}"
