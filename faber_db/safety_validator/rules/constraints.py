"""Rules for adding and dropping constraints and keys."""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from faber_db.safety_validator.findings import Hit
from faber_db.safety_validator.rules.base import (
    ANY_DIALECT,
    RuleContext,
    added_constraints,
    alter_table,
    alter_table_parts,
    altered_table,
    column_defs,
    column_list,
    column_name,
    drop_targets,
    for_dialect,
    has_constraint,
    kind_of,
    statement_rule,
)
from faber_db.safety_validator.sqlnames import identifier_name

_INDEX_BUILD = {
    "postgresql": "builds its index under an ACCESS EXCLUSIVE lock",
    "mysql": "builds its index (online in InnoDB, but the table is read in full)",
    "sqlite": "builds its index while holding the database write lock",
    ANY_DIALECT: "builds an index over the whole table",
}


def _key_object(table: str, name: str | None, columns: tuple[str, ...]) -> str:
    return f"{table}.{name}" if name else f"{table}({', '.join(columns)})"


def _unique_columns(constraint: exp.UniqueColumnConstraint, ctx: RuleContext) -> tuple[str, ...]:
    schema = constraint.this
    return column_list(schema.expressions, ctx) if isinstance(schema, exp.Schema) else ()


def _unique_name(
    name: str | None, constraint: exp.UniqueColumnConstraint, ctx: RuleContext
) -> str | None:
    schema = constraint.this
    if name or not isinstance(schema, exp.Schema) or schema.this is None:
        return name
    return identifier_name(schema.this, ctx.dialect)


@statement_rule
def add_unique_constraint(expr: exp.Expression, ctx: RuleContext) -> Iterator[Hit]:
    """ADD UNIQUE (constraint, MySQL UNIQUE KEY/INDEX, or ADD COLUMN ... UNIQUE)."""
    parts = alter_table_parts(expr, ctx)
    if parts is None:
        return
    _, table, actions = parts
    for name, constraint in added_constraints(actions, ctx):
        if isinstance(constraint, exp.UniqueColumnConstraint):
            columns = _unique_columns(constraint, ctx)
            obj = _key_object(table, _unique_name(name, constraint, ctx), columns)
            message = f"ADD UNIQUE {obj} fails if existing rows hold duplicates, and {for_dialect(_INDEX_BUILD, ctx.dialect)}"
            yield Hit("add_unique_constraint", "warning", message, obj, table, columns)
    for column in column_defs(actions):
        if has_constraint(column, exp.UniqueColumnConstraint):
            name = column_name(column, ctx)
            message = f"ADD COLUMN {table}.{name} UNIQUE {for_dialect(_INDEX_BUILD, ctx.dialect)}"
            yield Hit(
                "add_unique_constraint", "warning", message, f"{table}.{name}", table, (name,)
            )


def _added_primary_keys(
    actions: list[exp.Expression], ctx: RuleContext
) -> Iterator[tuple[str | None, tuple]]:
    for name, constraint in added_constraints(actions, ctx):
        if isinstance(constraint, exp.PrimaryKey):
            yield name, column_list(constraint.expressions, ctx)
    for action in actions:
        column = action.this if isinstance(action, exp.ModifyColumn) else action
        if isinstance(column, exp.ColumnDef) and has_constraint(
            column, exp.PrimaryKeyColumnConstraint
        ):
            yield None, (column_name(column, ctx),)


@statement_rule
def add_primary_key(expr: exp.Expression, ctx: RuleContext) -> Iterator[Hit]:
    """ADD PRIMARY KEY: fails on duplicates or NULLs; builds an index."""
    parts = alter_table_parts(expr, ctx)
    if parts is None:
        return
    _, table, actions = parts
    for name, columns in _added_primary_keys(actions, ctx):
        obj = _key_object(table, name, columns)
        message = (
            f"ADD PRIMARY KEY {obj} fails on duplicate or NULL values, makes its columns NOT NULL "
            f"(a full scan) and {for_dialect(_INDEX_BUILD, ctx.dialect)}"
        )
        yield Hit("add_primary_key", "warning", message, obj, table, columns)


_FK_COST = {
    "postgresql": (
        "checks every row while holding SHARE ROW EXCLUSIVE locks on both tables (writes wait); "
        "add it NOT VALID, then VALIDATE CONSTRAINT in a later migration"
    ),
    "mysql": "makes MySQL copy the table while foreign_key_checks is on (writes wait) and fails on orphan rows",
    "sqlite": "is checked only on later writes in SQLite",
    ANY_DIALECT: "checks every existing row and fails on orphan rows",
}


def foreign_key_hit(
    table: str, name: str | None, columns: tuple[str, ...], ctx: RuleContext
) -> Hit:
    """The add_foreign_key hit for ADD [CONSTRAINT name] FOREIGN KEY (columns) (also the fast path's)."""
    obj = _key_object(table, name, columns)
    message = f"ADD FOREIGN KEY {obj} {for_dialect(_FK_COST, ctx.dialect)}"
    return Hit("add_foreign_key", "warning", message, obj, table, columns)


@statement_rule
def add_foreign_key(expr: exp.Expression, ctx: RuleContext) -> Iterator[Hit]:
    """ADD FOREIGN KEY (PG: unless NOT VALID; also PG inline REFERENCES on ADD COLUMN)."""
    altered = alter_table(expr)
    if altered is None or ctx.dialect == "sqlite":
        return
    statement, actions = altered
    if ctx.dialect == "postgresql" and statement.args.get("not_valid"):
        return
    table = altered_table(statement, ctx)
    for name, constraint in added_constraints(actions, ctx):
        if isinstance(constraint, exp.ForeignKey):
            yield foreign_key_hit(table, name, column_list(constraint.expressions, ctx), ctx)
    for column in column_defs(actions) if ctx.dialect == "postgresql" else ():
        if has_constraint(column, exp.Reference):
            obj = f"{table}.{column_name(column, ctx)}"
            yield Hit(
                "add_foreign_key",
                "warning",
                f"ADD COLUMN {obj} REFERENCES {for_dialect(_FK_COST, ctx.dialect)}",
                obj,
                table,
            )


@statement_rule
def add_check_constraint(expr: exp.Expression, ctx: RuleContext) -> Iterator[Hit]:
    """ADD CHECK: scans every row (PG: unless NOT VALID; MySQL: copies the table)."""
    altered = alter_table(expr)
    if altered is None:
        return
    statement, actions = altered
    if ctx.dialect == "postgresql" and statement.args.get("not_valid"):
        return
    table = altered_table(statement, ctx)
    cost = (
        "scans every row under an ACCESS EXCLUSIVE lock; add it NOT VALID, then VALIDATE CONSTRAINT"
        if ctx.dialect == "postgresql"
        else "copies the table to check every row, and fails if one violates it"
    )
    for name, constraint in added_constraints(actions, ctx):
        if isinstance(constraint, exp.CheckColumnConstraint):
            obj = _key_object(table, name, ())
            yield Hit("add_check_constraint", "warning", f"ADD CHECK {obj} {cost}", obj, table)


@statement_rule
def drop_constraint(expr: exp.Expression, ctx: RuleContext) -> Iterator[Hit]:
    """DROP CONSTRAINT / CHECK / PRIMARY KEY: the guarantee is gone for new rows."""
    parts = alter_table_parts(expr, ctx)
    if parts is None:
        return
    _, table, actions = parts
    for action in actions:
        if isinstance(action, exp.DropPrimaryKey):
            message = f"DROP PRIMARY KEY on {table} removes its uniqueness guarantee and its index"
            yield Hit("drop_constraint", "warning", message, f"{table}.PRIMARY KEY", table)
        elif isinstance(action, exp.Drop) and kind_of(action) in ("CONSTRAINT", "CHECK"):
            for target in drop_targets(action):
                obj = f"{table}.{identifier_name(target, ctx.dialect)}"
                message = f"DROP CONSTRAINT {obj}: the rule it enforced no longer protects new data"
                yield Hit("drop_constraint", "warning", message, obj, table)


@statement_rule
def drop_foreign_key(expr: exp.Expression, ctx: RuleContext) -> Iterator[Hit]:
    """MySQL DROP FOREIGN KEY: referential integrity is no longer enforced."""
    parts = alter_table_parts(expr, ctx)
    if parts is None:
        return
    _, table, actions = parts
    for action in actions:
        if isinstance(action, exp.Drop) and kind_of(action) == "FOREIGN KEY":
            for target in drop_targets(action):
                obj = f"{table}.{identifier_name(target, ctx.dialect)}"
                message = f"DROP FOREIGN KEY {obj}: orphan rows can appear from now on"
                yield Hit("drop_foreign_key", "warning", message, obj, table)
