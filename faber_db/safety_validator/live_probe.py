"""Answer the safety validator's impact questions from the live database.

Tables that do not exist yet (created by an earlier pending migration) and
columns that are not there yet answer None: the impact is unknown, never zero.

``dependants`` names what uses an object a migration drops, where the engine
records it: PostgreSQL's pg_depend (columns of an enum, views over a view,
triggers and defaults calling a function or sequence), MySQL's trigger table
and the views whose definition names a view or function, SQLite's trigger
table; for a dropped table, the views and foreign keys that use it and the
triggers that go with it. Object names are always passed as query parameters.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from faber_db.engines.base import Engine

log = logging.getLogger("faber_db.safety_validator")


class LiveProbe:
    """An ImpactProbe (safety.impact) backed by one open connection."""

    def __init__(self, engine: Engine, db) -> None:
        self.engine = engine
        self.db = db

    def row_count(self, table: str) -> int | None:
        """Exact rows in table."""
        return self._scalar(f"SELECT COUNT(*) FROM {self._table(table)}")

    def null_count(self, table: str, column: str) -> int | None:
        """Rows where column IS NULL."""
        return self._scalar(
            f"SELECT COUNT(*) FROM {self._table(table)} WHERE {self.engine.quote(column)} IS NULL"
        )

    def table_size_bytes(self, table: str) -> int | None:
        """Table plus indexes, in bytes."""
        try:
            return self.engine.table_size(self.db, table)
        except self.engine.error_types as exc:
            log.info("table size of %s unknown: %s", table, exc)
            return None

    def duplicate_count(self, table: str, columns: Sequence[str]) -> int | None:
        """Rows a new UNIQUE or PRIMARY KEY on these columns would reject."""
        cols = ", ".join(self.engine.quote(c) for c in columns)
        non_null = " AND ".join(f"{self.engine.quote(c)} IS NOT NULL" for c in columns)
        return self._scalar(
            f"SELECT COALESCE(SUM(n - 1), 0) FROM (SELECT COUNT(*) AS n FROM {self._table(table)}"
            f" WHERE {non_null} GROUP BY {cols} HAVING COUNT(*) > 1) AS dups"
        )

    def dependants(self, rule: str, name: str, table: str | None) -> list[str] | None:
        """What uses the object a drop_* rule removes ("column public.t.c", "view v"), or None."""
        lookup = _DEPENDANT_LOOKUPS.get(self.engine.name, {}).get(rule)
        if lookup is None or not name:
            return None
        try:
            return lookup(self, name, table)
        except self.engine.error_types as exc:
            log.info("dependants of %s unknown: %s", name, exc)
            return None

    def _rows(self, sql: str, params: tuple) -> list[str]:
        return [str(row[0]) for row in self.engine.query(self.db, sql, params) if row[0]]

    def _scalar(self, sql: str) -> int | None:
        try:
            rows = self.engine.query(self.db, sql)
        except self.engine.error_types as exc:
            log.info("impact query failed (%s): %s", sql, exc)
            return None
        return int(rows[0][0]) if rows and rows[0][0] is not None else None

    def _table(self, table: str) -> str:
        return self.engine.quote_table(table)


# --- dependants, per engine ------------------------------------------------------------

_PG_DEPENDANTS = """
SELECT DISTINCT CASE
  WHEN d.classid = 'pg_class'::regclass AND d.objsubid > 0
    THEN 'column ' || d.objid::regclass::text || '.' || quote_ident(a.attname)
  WHEN d.classid = 'pg_rewrite'::regclass THEN 'view ' || r.ev_class::regclass::text
  WHEN d.classid = 'pg_proc'::regclass THEN 'function ' || d.objid::regprocedure::text
  WHEN d.classid = 'pg_trigger'::regclass
    THEN 'trigger ' || quote_ident(t.tgname) || ' on ' || t.tgrelid::regclass::text
  WHEN d.classid = 'pg_attrdef'::regclass
    THEN 'default of ' || ad.adrelid::regclass::text || '.' || quote_ident(da.attname)
  ELSE pg_describe_object(d.classid, d.objid, d.objsubid) END
FROM pg_depend d
LEFT JOIN pg_attribute a
  ON d.classid = 'pg_class'::regclass AND a.attrelid = d.objid AND a.attnum = d.objsubid
LEFT JOIN pg_rewrite r ON d.classid = 'pg_rewrite'::regclass AND r.oid = d.objid
LEFT JOIN pg_trigger t ON d.classid = 'pg_trigger'::regclass AND t.oid = d.objid
LEFT JOIN pg_attrdef ad ON d.classid = 'pg_attrdef'::regclass AND ad.oid = d.objid
LEFT JOIN pg_attribute da ON da.attrelid = ad.adrelid AND da.attnum = ad.adnum
WHERE d.refclassid = %s::regclass AND d.refobjid = ANY(%s::oid[]) AND d.deptype = 'n'
  AND NOT (d.classid = 'pg_rewrite'::regclass AND r.ev_class = d.refobjid)
ORDER BY 1
"""

_PG_FUNCTIONS = (
    "SELECT p.oid FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
    " WHERE p.proname = %s AND CASE WHEN %s::text IS NULL"
    " THEN pg_function_is_visible(p.oid) ELSE n.nspname = %s END"
)


def _split(name: str) -> tuple[str | None, str]:
    schema, _, plain = name.rpartition(".")
    return schema or None, plain


def _pg_depending_on(probe: LiveProbe, catalog: str, oids: list[int]) -> list[str] | None:
    oids = [int(oid) for oid in oids if oid]
    if not oids:
        return None  # the object is not there (yet): nothing is known
    return probe._rows(_PG_DEPENDANTS, (catalog, oids))


def _pg_relation(probe: LiveProbe, name: str, _table: str | None) -> list[str] | None:
    rows = probe.engine.query(probe.db, "SELECT to_regclass(%s)::oid", (probe._table(name),))
    return _pg_depending_on(probe, "pg_class", [rows[0][0]] if rows else [])


def _pg_type(probe: LiveProbe, name: str, _table: str | None) -> list[str] | None:
    # Columns of type mood[] depend on the array type, which goes with mood.
    rows = probe.engine.query(
        probe.db,
        "SELECT t.oid, t.typarray FROM pg_type t WHERE t.oid = to_regtype(%s)",
        (probe._table(name),),
    )
    return _pg_depending_on(probe, "pg_type", list(rows[0]) if rows else [])


def _pg_function(probe: LiveProbe, name: str, _table: str | None) -> list[str] | None:
    schema, plain = _split(name)
    rows = probe.engine.query(probe.db, _PG_FUNCTIONS, (plain, schema, schema))
    return _pg_depending_on(probe, "pg_proc", [row[0] for row in rows])


def _pg_trigger(probe: LiveProbe, name: str, table: str | None) -> list[str] | None:
    if not table:
        return None
    return (
        probe._rows(
            "SELECT 'table ' || tgrelid::regclass::text FROM pg_trigger"
            " WHERE tgname = %s AND tgrelid = to_regclass(%s)",
            (name, probe._table(table)),
        )
        or None
    )


def _pg_table(probe: LiveProbe, name: str, table: str | None) -> list[str] | None:
    """Views and foreign keys that use the table, and the triggers dropped with it."""
    found = _pg_relation(probe, name, table)
    if found is None:
        return None
    triggers = probe._rows(
        "SELECT 'trigger ' || quote_ident(tgname) FROM pg_trigger"
        " WHERE tgrelid = to_regclass(%s) AND NOT tgisinternal ORDER BY 1",
        (probe._table(name),),
    )
    return found + triggers


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _mysql_schema(probe: LiveProbe, schema: str | None) -> str:
    return schema or str(probe.engine.query(probe.db, "SELECT DATABASE()")[0][0])


def _mysql_trigger(probe: LiveProbe, name: str, _table: str | None) -> list[str] | None:
    schema, plain = _split(name)
    return (
        probe._rows(
            "SELECT CONCAT('table ', EVENT_OBJECT_TABLE) FROM information_schema.TRIGGERS"
            " WHERE TRIGGER_SCHEMA = %s AND TRIGGER_NAME = %s",
            (_mysql_schema(probe, schema), plain),
        )
        or None
    )


_MYSQL_EXISTS = {
    "": "SELECT 1 FROM information_schema.VIEWS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s",
    "(": (
        "SELECT 1 FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = %s"
        " AND ROUTINE_NAME = %s AND ROUTINE_TYPE = 'FUNCTION'"
    ),
}


def _mysql_views_naming(
    probe: LiveProbe, name: str, suffix: str, check: bool = True
) -> list[str] | None:
    """Views whose stored definition names the object: MySQL and MariaDB store views
    as `schema`.`name`, MariaDB calls to a function of the view's own schema as `f`(."""
    schema, plain = _split(name)
    schema = _mysql_schema(probe, schema)
    if check and not probe.engine.query(probe.db, _MYSQL_EXISTS[suffix], (schema, plain)):
        return None  # not there (yet): nothing is known
    quote = probe.engine.quote
    qualified = _like_escaped(f"{quote(schema)}.{quote(plain)}{suffix}")
    local = _like_escaped(f"{quote(plain)}{suffix}") if suffix else qualified
    return probe._rows(
        "SELECT CONCAT('view ', TABLE_NAME) FROM information_schema.VIEWS"
        " WHERE TABLE_SCHEMA = DATABASE() AND NOT (TABLE_SCHEMA = %s AND TABLE_NAME = %s)"
        " AND (VIEW_DEFINITION LIKE CONCAT('%%', %s, '%%')"
        " OR (TABLE_SCHEMA = %s AND VIEW_DEFINITION LIKE CONCAT('%%', %s, '%%')))"
        " ORDER BY TABLE_NAME",
        (schema, plain, qualified, schema, local),
    )


def _mysql_table(probe: LiveProbe, name: str, _table: str | None) -> list[str] | None:
    """The triggers MySQL drops with the table, and the views that then break."""
    schema, plain = _split(name)
    schema = _mysql_schema(probe, schema)
    exists = (
        "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s"
        " AND TABLE_TYPE = 'BASE TABLE'"
    )
    if not probe.engine.query(probe.db, exists, (schema, plain)):
        return None
    triggers = probe._rows(
        "SELECT CONCAT('trigger ', TRIGGER_NAME) FROM information_schema.TRIGGERS"
        " WHERE EVENT_OBJECT_SCHEMA = %s AND EVENT_OBJECT_TABLE = %s ORDER BY TRIGGER_NAME",
        (schema, plain),
    )
    return triggers + (_mysql_views_naming(probe, name, "", check=False) or [])


def _mysql_view(probe: LiveProbe, name: str, _table: str | None) -> list[str] | None:
    return _mysql_views_naming(probe, name, "")


def _mysql_function(probe: LiveProbe, name: str, _table: str | None) -> list[str] | None:
    return _mysql_views_naming(probe, name, "(")


def _sqlite_table(probe: LiveProbe, name: str, _table: str | None) -> list[str] | None:
    """The triggers SQLite drops with the table (views naming it are not recorded)."""
    schema, plain = _split(name)
    if schema not in (None, "main"):
        return None
    exists = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
    if not probe.engine.query(probe.db, exists, (plain,)):
        return None
    return probe._rows(
        "SELECT 'trigger ' || name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?"
        " ORDER BY name",
        (plain,),
    )


def _sqlite_trigger(probe: LiveProbe, name: str, _table: str | None) -> list[str] | None:
    schema, plain = _split(name)
    if schema not in (None, "main"):
        return None
    return (
        probe._rows(
            "SELECT 'table ' || tbl_name FROM sqlite_master WHERE type = 'trigger' AND name = ?",
            (plain,),
        )
        or None
    )


Lookup = Callable[[LiveProbe, str, "str | None"], "list[str] | None"]
_DEPENDANT_LOOKUPS: dict[str, dict[str, Lookup]] = {
    "postgresql": {
        "drop_table": _pg_table,
        "table_rebuild": _pg_table,
        "drop_view": _pg_relation,
        "drop_materialized_view": _pg_relation,
        "drop_sequence": _pg_relation,
        "drop_type": _pg_type,
        "drop_function": _pg_function,
        "drop_procedure": _pg_function,
        "drop_trigger": _pg_trigger,
    },
    "mysql": {
        "drop_table": _mysql_table,
        "table_rebuild": _mysql_table,
        "drop_view": _mysql_view,
        "drop_function": _mysql_function,
        "drop_trigger": _mysql_trigger,
    },
    "sqlite": {
        "drop_table": _sqlite_table,
        "table_rebuild": _sqlite_table,
        "drop_trigger": _sqlite_trigger,
    },
}
