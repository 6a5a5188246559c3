"""Rules for dropping schema objects that are not tables: views, materialized
views, types, functions, procedures, triggers, sequences and events.

None of these holds table rows (a materialized view holds rows derived from
other tables), so a plain DROP is a warning: code, views and triggers that use
the object break, and only a backup brings its definition back. With CASCADE
the server also drops everything that depends on it (columns of a dropped
type, with their data; views over a view; triggers calling a function), so the
finding is danger. The live probe (impact.py) names the dependants where the
engine records them.

``object_drop_hits`` builds the hits from plain names, so that the keyword
fallback reports what sqlglot cannot parse (DROP DOMAIN, DROP EVENT, ...)
exactly like the parsed rule does.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from faber_db.safety_validator.findings import Hit
from faber_db.safety_validator.rules.base import RuleContext, drop_targets, kind_of, statement_rule
from faber_db.safety_validator.sqlnames import table_name

#: SQL object kind -> rule code. DOMAIN counts as a type, ROUTINE and AGGREGATE as functions.
OBJECT_RULES: dict[str, str] = {
    "VIEW": "drop_view",
    "MATERIALIZED VIEW": "drop_materialized_view",
    "TYPE": "drop_type",
    "DOMAIN": "drop_type",
    "FUNCTION": "drop_function",
    "ROUTINE": "drop_function",
    "AGGREGATE": "drop_function",
    "PROCEDURE": "drop_procedure",
    "TRIGGER": "drop_trigger",
    "SEQUENCE": "drop_sequence",
    "EVENT": "drop_event",
}

#: The kinds each engine has; a kind another engine lacks is a syntax error there.
ENGINE_KINDS: dict[str, frozenset[str]] = {
    "postgresql": frozenset(OBJECT_RULES) - {"EVENT"},
    "mysql": frozenset({"VIEW", "FUNCTION", "PROCEDURE", "TRIGGER", "SEQUENCE", "EVENT"}),
    "sqlite": frozenset({"VIEW", "TRIGGER"}),
}

_EFFECTS = {
    "drop_view": "queries, views and functions that select from it break",
    "drop_materialized_view": (
        "its stored rows and definition are gone (the rows can be recomputed only from the "
        "definition), and queries that read it break"
    ),
    "drop_type": "the statement fails while a column, function or other type still uses it",
    "drop_function": "views, triggers, defaults and application code that call it break",
    "drop_procedure": "application code and jobs that CALL it break",
    "drop_trigger": (
        "what it did on every write (audit rows, derived values, checks) silently stops"
    ),
    "drop_sequence": (
        "column defaults that draw from it break, and its current value is lost: "
        "a recreated sequence restarts and hands out ids already in use"
    ),
    "drop_event": "the scheduled job it ran stops",
}

_CASCADE_EFFECTS = {
    "drop_type": "also drops every column of that type, with its data, and functions using it",
    "drop_view": "also drops every view and rule built on it",
    "drop_materialized_view": "also drops every view built on it",
    "drop_sequence": "also drops the column defaults that use it",
    "drop_function": "also drops the triggers, views and defaults that call it",
}


def kinds_for(dialect: str) -> frozenset[str]:
    """Object kinds the engine can drop (every kind for an engine not listed)."""
    return ENGINE_KINDS.get(dialect, frozenset(OBJECT_RULES))


def object_drop_hits(
    kind: str,
    names: list[str],
    cascade: bool,
    dialect: str,
    on_table: str | None = None,
    signature: str = "",
) -> list[Hit]:
    """One hit per dropped object of kind (VIEW, TYPE, ...); none for kinds not covered.

    The hit's object is the plain name (what a person types to approve it);
    signature, a function's argument list, only goes into the message.
    """
    rule = OBJECT_RULES.get(kind)
    if rule is None or kind not in kinds_for(dialect):
        return []
    hits = []
    for name in names:
        shown = f"{name}{signature}" if len(names) == 1 else name
        where = f" ON {on_table}" if on_table else ""
        if cascade:
            effect = _CASCADE_EFFECTS.get(rule, "also drops every object that depends on it")
            message = f"DROP {kind} {shown}{where} CASCADE {effect}; only a backup brings them back"
            severity = "danger"
        else:
            message = f"DROP {kind} {shown}{where}: {_EFFECTS[rule]}"
            severity = "warning"
        hits.append(Hit(rule, severity, message, name, on_table))
    return hits


@statement_rule
def drop_object(expr: exp.Expression, ctx: RuleContext) -> Iterator[Hit]:
    """DROP VIEW / MATERIALIZED VIEW / TYPE / FUNCTION / PROCEDURE / TRIGGER / SEQUENCE."""
    if not isinstance(expr, exp.Drop):
        return
    kind = kind_of(expr)
    if kind == "VIEW" and expr.args.get("materialized"):
        kind = "MATERIALIZED VIEW"
    if kind not in OBJECT_RULES:
        return
    on = expr.args.get("cluster")
    on_table = table_name(on.this, ctx.dialect) if isinstance(on, exp.OnProperty) else None
    names = [table_name(target, ctx.dialect) for target in drop_targets(expr)]
    arguments = expr.args.get("expressions")
    signature = f"({', '.join(arg.sql() for arg in arguments)})" if arguments else ""
    cascade = bool(expr.args.get("cascade"))
    yield from object_drop_hits(kind, names, cascade, ctx.dialect, on_table, signature)
