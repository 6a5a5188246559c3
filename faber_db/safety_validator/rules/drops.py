"""Rules for statements that destroy data: DROP, TRUNCATE."""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from faber_db.safety_validator.findings import Hit
from faber_db.safety_validator.rules.base import (
    RuleContext,
    alter_table_parts,
    column_hit,
    column_name,
    drop_targets,
    kind_of,
    statement_rule,
    table_hit,
)
from faber_db.safety_validator.sqlnames import identifier_name, table_name


@statement_rule
def drop_table(expr: exp.Expression, ctx: RuleContext) -> Iterator[Hit]:
    """DROP TABLE: the table and every row in it are gone."""
    if isinstance(expr, exp.Drop) and kind_of(expr) == "TABLE":
        for target in drop_targets(expr):
            name = table_name(target, ctx.dialect)
            message = f"DROP TABLE {name} deletes the table and all its rows; only a backup brings them back"
            yield table_hit("drop_table", "danger", message, name)


def _schema_name(target: exp.Expression, ctx: RuleContext) -> str:
    if isinstance(target, exp.Table) and target.args.get("db") is not None and target.this is None:
        return identifier_name(target.args["db"], ctx.dialect)
    return table_name(target, ctx.dialect) if isinstance(target, exp.Table) else str(target)


@statement_rule
def drop_schema(expr: exp.Expression, ctx: RuleContext) -> Iterator[Hit]:
    """PostgreSQL DROP SCHEMA (MySQL's DROP SCHEMA is drop_database)."""
    if isinstance(expr, exp.Drop) and kind_of(expr) == "SCHEMA" and ctx.dialect != "mysql":
        for target in drop_targets(expr):
            name = _schema_name(target, ctx)
            cascade = " and, with CASCADE, everything in it" if expr.args.get("cascade") else ""
            message = f"DROP SCHEMA {name} removes the schema{cascade}; automation never runs this"
            yield Hit("drop_schema", "blocked", message, name)


@statement_rule
def drop_database(expr: exp.Expression, ctx: RuleContext) -> Iterator[Hit]:
    """DROP DATABASE (and MySQL's synonym DROP SCHEMA)."""
    kinds = ("DATABASE", "SCHEMA") if ctx.dialect == "mysql" else ("DATABASE",)
    if isinstance(expr, exp.Drop) and kind_of(expr) in kinds:
        for target in drop_targets(expr):
            name = _schema_name(target, ctx)
            message = (
                f"DROP {kind_of(expr)} {name} deletes a whole database; automation never runs this"
            )
            yield Hit("drop_database", "blocked", message, name)


@statement_rule
def drop_column(expr: exp.Expression, ctx: RuleContext) -> Iterator[Hit]:
    """ALTER TABLE ... DROP COLUMN: the column's values are gone."""
    parts = alter_table_parts(expr, ctx)
    if parts is None:
        return
    _, table, actions = parts
    for action in actions:
        if isinstance(action, exp.Drop) and kind_of(action) == "COLUMN":
            for target in drop_targets(action):
                column = column_name(target, ctx)
                message = (
                    f"DROP COLUMN {table}.{column} deletes that column's data in every row; "
                    "running application code that still reads it breaks"
                )
                yield column_hit("drop_column", "danger", message, table, column)


@statement_rule
def truncate(expr: exp.Expression, ctx: RuleContext) -> Iterator[Hit]:
    """TRUNCATE: every row of the table is deleted, without a WHERE to limit it."""
    if isinstance(expr, exp.TruncateTable) and not expr.args.get("is_database"):
        for target in expr.expressions:
            name = table_name(target, ctx.dialect)
            message = f"TRUNCATE {name} deletes every row at once; only a backup brings them back"
            yield table_hit("truncate", "danger", message, name)


@statement_rule
def truncate_cascade(expr: exp.Expression, ctx: RuleContext) -> Iterator[Hit]:
    """TRUNCATE ... CASCADE also empties every table that references it."""
    if (
        isinstance(expr, exp.TruncateTable)
        and str(expr.args.get("option") or "").upper() == "CASCADE"
    ):
        for target in expr.expressions:
            name = table_name(target, ctx.dialect)
            message = (
                f"TRUNCATE {name} CASCADE also empties every table with a foreign key to it, "
                "recursively, including tables this migration does not name"
            )
            yield table_hit("truncate_cascade", "danger", message, name)
