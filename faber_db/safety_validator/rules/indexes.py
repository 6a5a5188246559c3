"""Rules for creating and dropping indexes."""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from faber_db.safety_validator.findings import Hit
from faber_db.safety_validator.rules.base import (
    RuleContext,
    alter_table,
    altered_table,
    column_list,
    drop_targets,
    kind_of,
    statement_rule,
)
from faber_db.safety_validator.sqlnames import identifier_name, table_name


def _created_index(
    expr: exp.Expression, ctx: RuleContext
) -> tuple[exp.Index, str, str, tuple] | None:
    """(index, index name, table, columns) for CREATE INDEX, else None."""
    if not (
        isinstance(expr, exp.Create)
        and kind_of(expr) == "INDEX"
        and isinstance(expr.this, exp.Index)
    ):
        return None
    index = expr.this
    params = index.args.get("params")
    columns = column_list(params.args.get("columns") if params else None, ctx)
    table = table_name(index.args.get("table"), ctx.dialect)
    name = identifier_name(index.this, ctx.dialect) if index.this is not None else ""
    return index, name, table, columns


@statement_rule
def create_index_non_concurrent(expr: exp.Expression, ctx: RuleContext) -> Iterator[Hit]:
    """PostgreSQL CREATE INDEX without CONCURRENTLY blocks writes while it builds."""
    created = _created_index(expr, ctx) if ctx.dialect == "postgresql" else None
    if created is None or expr.args.get("concurrently"):
        return
    _index, name, table, columns = created
    yield non_concurrent_index_hit(name, table, columns)


def non_concurrent_index_hit(name: str, table: str, columns: tuple[str, ...]) -> Hit:
    """The create_index_non_concurrent hit (also built by the fast path, safety/fastpath.py)."""
    label = name or f"on {table}"
    message = (
        f"CREATE INDEX {label} without CONCURRENTLY blocks writes to {table} for the whole build; "
        "use CREATE INDEX CONCURRENTLY in a migration of its own"
    )
    return Hit("create_index_non_concurrent", "warning", message, name or table, table, columns)


@statement_rule
def create_unique_index(expr: exp.Expression, ctx: RuleContext) -> Iterator[Hit]:
    """CREATE UNIQUE INDEX fails if existing rows hold duplicates."""
    created = _created_index(expr, ctx)
    if created is None or not expr.args.get("unique"):
        return
    _index, name, table, columns = created
    yield unique_index_hit(name, table, columns)


def unique_index_hit(name: str, table: str, columns: tuple[str, ...]) -> Hit:
    """The create_unique_index hit (also built by the fast path)."""
    message = f"CREATE UNIQUE INDEX {name or 'on ' + table} fails if {table} already holds duplicate values"
    return Hit("create_unique_index", "warning", message, name or table, table, columns)


def _drop_index_message(name: str, concurrently: bool, ctx: RuleContext) -> str:
    message = f"DROP INDEX {name}: queries that used it can become slow"
    if ctx.dialect == "postgresql" and not concurrently:
        message += "; without CONCURRENTLY it takes an ACCESS EXCLUSIVE lock on the table"
    return message


@statement_rule
def drop_index(expr: exp.Expression, ctx: RuleContext) -> Iterator[Hit]:
    """DROP INDEX (and MySQL ALTER TABLE ... DROP INDEX/KEY)."""
    if isinstance(expr, exp.Drop) and kind_of(expr) == "INDEX":
        on = expr.args.get("cluster")
        table = table_name(on.this, ctx.dialect) if isinstance(on, exp.OnProperty) else None
        for target in drop_targets(expr):
            name = table_name(target, ctx.dialect)
            message = _drop_index_message(name, bool(expr.args.get("concurrently")), ctx)
            yield Hit("drop_index", "warning", message, name, table)
    altered = alter_table(expr)
    for action in altered[1] if altered else []:
        if isinstance(action, exp.Drop) and kind_of(action) == "INDEX":
            table = altered_table(altered[0], ctx)
            for target in drop_targets(action):
                name = identifier_name(target, ctx.dialect)
                yield Hit(
                    "drop_index", "warning", _drop_index_message(name, True, ctx), name, table
                )
