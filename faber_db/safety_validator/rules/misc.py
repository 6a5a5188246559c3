"""Rules for renames, transaction control and MySQL ALTER algorithms."""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from faber_db.safety_validator.findings import Hit
from faber_db.safety_validator.rules.base import (
    RuleContext,
    alter_table,
    alter_table_parts,
    altered_table,
    column_hit,
    column_name,
    statement_rule,
    table_hit,
)
from faber_db.safety_validator.sqlnames import identifier_name, table_name


def _misparsed_column_rename(statement: exp.Alter) -> exp.Expression | None:
    """sqlglot reads PG ``RENAME b TO c`` as a table rename plus a TO option."""
    for option in statement.args.get("options") or []:
        if isinstance(option, exp.ToTableProperty):
            return option.this
    return None


@statement_rule
def rename_table(expr: exp.Expression, ctx: RuleContext) -> Iterator[Hit]:
    """ALTER TABLE ... RENAME TO: running code still uses the old name."""
    altered = alter_table(expr)
    if altered is None or _misparsed_column_rename(altered[0]) is not None:
        return
    statement, actions = altered
    table = altered_table(statement, ctx)
    for action in actions:
        if isinstance(action, exp.AlterRename):
            new = table_name(action.this, ctx.dialect)
            message = f"renaming table {table} to {new} breaks application code that still uses the old name"
            yield table_hit("rename_table", "warning", message, table)


def _column_renames(
    statement: exp.Alter, actions: list, ctx: RuleContext
) -> Iterator[tuple[str, str]]:
    misparsed = _misparsed_column_rename(statement)
    for action in actions:
        if isinstance(action, exp.RenameColumn):
            yield column_name(action.this, ctx), column_name(action.args.get("to"), ctx)
        elif isinstance(action, exp.AlterRename) and misparsed is not None:
            yield table_name(action.this, ctx.dialect), table_name(misparsed, ctx.dialect)
        elif isinstance(action, exp.ModifyColumn) and action.args.get("rename_from") is not None:
            old = identifier_name(action.args["rename_from"], ctx.dialect)
            new = column_name(action.this, ctx)
            if old != new:
                yield old, new


@statement_rule
def rename_column(expr: exp.Expression, ctx: RuleContext) -> Iterator[Hit]:
    """RENAME COLUMN (and MySQL CHANGE old new): running code uses the old name."""
    parts = alter_table_parts(expr, ctx)
    if parts is None:
        return
    statement, table, actions = parts
    for old, new in _column_renames(statement, actions, ctx):
        message = f"renaming column {table}.{old} to {new} breaks application code that still uses the old name"
        yield column_hit("rename_column", "warning", message, table, old)


@statement_rule
def transaction_control(expr: exp.Expression, ctx: RuleContext) -> Iterator[Hit]:
    """BEGIN/COMMIT/ROLLBACK in a migration fight the deployer's own transaction."""
    if isinstance(expr, (exp.Transaction, exp.Commit, exp.Rollback)):
        word = {exp.Transaction: "BEGIN", exp.Commit: "COMMIT"}.get(type(expr), "ROLLBACK")
        message = (
            f"{word} inside a migration: faber-db runs each migration in its own transaction, "
            "so this ends or nests it and the migration is no longer applied atomically"
        )
        yield Hit("transaction_control", "warning", message)


def _blocking_options(statement: exp.Alter) -> list[str]:
    found = []
    for option in statement.args.get("options") or []:
        value = str(option.this.this if isinstance(option.this, exp.Var) else option.this).upper()
        if isinstance(option, exp.AlgorithmProperty) and value == "COPY":
            found.append("ALGORITHM=COPY")
        elif isinstance(option, exp.LockProperty) and value in ("SHARED", "EXCLUSIVE"):
            found.append(f"LOCK={value}")
    return found


@statement_rule
def mysql_blocking_alter(expr: exp.Expression, ctx: RuleContext) -> Iterator[Hit]:
    """MySQL ALTER TABLE that asks for a table copy or a blocking lock."""
    altered = alter_table(expr) if ctx.dialect == "mysql" else None
    if altered is None:
        return
    options = _blocking_options(altered[0])
    if options:
        table = altered_table(altered[0], ctx)
        message = (
            f"ALTER TABLE {table} with {', '.join(options)} blocks writes for the whole operation"
        )
        yield table_hit("mysql_blocking_alter", "warning", message, table)
