"""Rules for column changes: type changes, NOT NULL, rewriting defaults."""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from faber_db.safety_validator.findings import Hit
from faber_db.safety_validator.rules.base import (
    ANY_DIALECT,
    RuleContext,
    alter_table,
    alter_table_parts,
    altered_table,
    column_defs,
    column_hit,
    column_name,
    constraint_kinds,
    for_dialect,
    has_constraint,
    is_not_null,
    statement_rule,
)
from faber_db.safety_validator.sqlnames import identifier_name

T = exp.DataType.Type
# Target types that cannot hold every value of a wider source type.
_NARROW_ALWAYS = {
    T.TINYINT, T.UTINYINT, T.SMALLINT, T.USMALLINT, T.MEDIUMINT, T.UMEDIUMINT,
    T.INT, T.UINT, T.FLOAT, T.BOOLEAN, T.BIT, T.DATE, T.TIME, T.ENUM, T.SET,
    T.YEAR, T.TINYTEXT, T.TINYBLOB,
}  # fmt: skip
_NARROW_WHEN_SIZED = {T.VARCHAR, T.NVARCHAR, T.CHAR, T.NCHAR, T.BINARY, T.VARBINARY, T.DECIMAL}
_MYSQL_SMALL_TEXT = {T.TEXT, T.BLOB}
_SERIAL = {T.SERIAL, T.BIGSERIAL, T.SMALLSERIAL}
_VOLATILE_FUNCTIONS = (exp.Rand, exp.Uuid)
# Functions sqlglot does not model (Anonymous) that are still not volatile.
_STABLE_ANONYMOUS = {
    "statement_timestamp",
    "transaction_timestamp",
    "current_setting",
    "localtimestamp",
}


def _lossy(dtype: exp.DataType, dialect: str) -> bool:
    """True when converting to dtype can truncate, round or reject values."""
    if dtype.this == T.ARRAY and dtype.expressions:
        return _lossy(dtype.expressions[0], dialect)
    if dtype.this in _NARROW_ALWAYS:
        return True
    if dtype.this in _NARROW_WHEN_SIZED and dtype.expressions:
        return True
    return dialect == "mysql" and dtype.this in _MYSQL_SMALL_TEXT


def _type_change_hit(
    table: str, column: str, dtype: exp.DataType, using: bool, ctx: RuleContext
) -> Hit:
    target = dtype.sql(dialect="postgres" if ctx.dialect == "postgresql" else ctx.dialect)
    rewrite = (
        "rewrites the table and its indexes under an ACCESS EXCLUSIVE lock"
        if ctx.dialect == "postgresql"
        else "copies the table (ALGORITHM=COPY), blocking writes"
    )
    if _lossy(dtype, ctx.dialect):
        message = (
            f"changing {table}.{column} to {target} can truncate, round or reject existing values; "
            f"it also {rewrite}"
        )
        return column_hit("alter_column_type", "danger", message, table, column)
    cast = " (the USING conversion fails on values it cannot convert)" if using else ""
    message = f"changing {table}.{column} to {target} {rewrite}{cast}"
    return column_hit("alter_column_type", "warning", message, table, column)


@statement_rule
def alter_column_type(expr: exp.Expression, ctx: RuleContext) -> Iterator[Hit]:
    """ALTER COLUMN ... TYPE (PG) and MODIFY/CHANGE (MySQL): rewrite, maybe loss."""
    parts = alter_table_parts(expr, ctx)
    if parts is None:
        return
    _, table, actions = parts
    for action in actions:
        if isinstance(action, exp.AlterColumn) and isinstance(
            action.args.get("dtype"), exp.DataType
        ):
            using = action.args.get("using") is not None
            yield _type_change_hit(
                table, column_name(action.this, ctx), action.args["dtype"], using, ctx
            )
        elif isinstance(action, exp.ModifyColumn) and isinstance(action.this, exp.ColumnDef):
            dtype = action.this.args.get("kind")
            if isinstance(dtype, exp.DataType):
                yield _type_change_hit(table, current_name(action, ctx), dtype, False, ctx)


def current_name(action: exp.ModifyColumn, ctx: RuleContext) -> str:
    """The column's name before the statement runs (CHANGE old new ... renames it)."""
    old = action.args.get("rename_from")
    return identifier_name(old, ctx.dialect) if old is not None else column_name(action.this, ctx)


def _fills_itself(column: exp.ColumnDef) -> bool:
    dtype = column.args.get("kind")
    if isinstance(dtype, exp.DataType) and dtype.this in _SERIAL:
        return True
    return has_constraint(
        column,
        exp.DefaultColumnConstraint,
        exp.GeneratedAsIdentityColumnConstraint,
        exp.ComputedColumnConstraint,
        exp.AutoIncrementColumnConstraint,
    )


_NOT_NULL_REASONS = {
    "postgresql": "fails as soon as the table has a row (existing rows would be NULL)",
    "mysql": "fills existing rows with the type's implicit default (0, '', zero date) without telling anyone",
    "sqlite": "is refused by SQLite even on an empty table ('Cannot add a NOT NULL column with default value NULL')",
    ANY_DIALECT: "fails, or fills existing rows with values nobody chose",
}


@statement_rule
def add_not_null_without_default(expr: exp.Expression, ctx: RuleContext) -> Iterator[Hit]:
    """ADD COLUMN ... NOT NULL with nothing to put in the existing rows."""
    parts = alter_table_parts(expr, ctx)
    if parts is None:
        return
    _, table, actions = parts
    for column in column_defs(actions):
        if is_not_null(column) and not _fills_itself(column):
            name = column_name(column, ctx)
            message = f"ADD COLUMN {table}.{name} NOT NULL without DEFAULT {for_dialect(_NOT_NULL_REASONS, ctx.dialect)}"
            yield column_hit("add_not_null_without_default", "danger", message, table, name)


def _not_null_change(
    action: exp.Expression, table: str, ctx: RuleContext
) -> tuple[str, str] | None:
    """(column, message) when an ALTER TABLE action makes a column NOT NULL."""
    if isinstance(action, exp.AlterColumn) and action.args.get("allow_null") is False:
        name = column_name(action.this, ctx)
        return name, (
            f"SET NOT NULL on {table}.{name} scans the whole table under an ACCESS EXCLUSIVE lock "
            "and fails if any row holds NULL (PostgreSQL 12+ skips the scan when a validated "
            f"CHECK ({name} IS NOT NULL) exists)"
        )
    modified = action.this if isinstance(action, exp.ModifyColumn) else None
    if isinstance(modified, exp.ColumnDef) and is_not_null(modified):
        name = current_name(action, ctx)
        return name, (
            f"{table}.{name} is redefined NOT NULL: if it allowed NULLs, existing NULLs make "
            "the statement fail (strict mode) or are replaced by the type's implicit default"
        )
    return None


@statement_rule
def set_not_null(expr: exp.Expression, ctx: RuleContext) -> Iterator[Hit]:
    """SET NOT NULL / MODIFY ... NOT NULL: full scan; fails if a NULL exists."""
    parts = alter_table_parts(expr, ctx)
    if parts is None:
        return
    _, table, actions = parts
    for action in actions:
        change = _not_null_change(action, table, ctx)
        if change is not None:
            yield column_hit("set_not_null", "warning", change[1], table, change[0])


@statement_rule
def drop_not_null(expr: exp.Expression, ctx: RuleContext) -> Iterator[Hit]:
    """DROP NOT NULL: readers that assume a value start seeing NULLs."""
    parts = alter_table_parts(expr, ctx)
    if parts is None:
        return
    _, table, actions = parts
    for action in actions:
        if (
            isinstance(action, exp.AlterColumn)
            and action.args.get("drop")
            and action.args.get("allow_null")
        ):
            name = column_name(action.this, ctx)
            message = f"DROP NOT NULL on {table}.{name}: code that assumes a value will meet NULLs"
            yield column_hit("drop_not_null", "warning", message, table, name)


def _rewrite_reason(column: exp.ColumnDef, ctx: RuleContext) -> str | None:
    dtype = column.args.get("kind")
    if isinstance(dtype, exp.DataType) and dtype.this in _SERIAL:
        return f"a {dtype.this.value} column fills every row from a sequence"
    kinds = constraint_kinds(column)
    if any(isinstance(k, exp.GeneratedAsIdentityColumnConstraint) for k in kinds):
        return "an identity column fills every row"
    if any(isinstance(k, exp.ComputedColumnConstraint) for k in kinds):
        return "a stored generated column computes every row"
    for kind in kinds:
        if isinstance(kind, exp.DefaultColumnConstraint):
            return _default_rewrite(kind.this, ctx)
    return None


def _default_rewrite(default: exp.Expression, ctx: RuleContext) -> str | None:
    if isinstance(default, exp.Null):
        return None
    if ctx.version_below(11):
        return "before PostgreSQL 11 any DEFAULT is written into every row"
    for call in default.find_all(*_VOLATILE_FUNCTIONS, exp.Anonymous):
        if not (isinstance(call, exp.Anonymous) and str(call.this).lower() in _STABLE_ANONYMOUS):
            return f"the volatile DEFAULT {call.sql(dialect='postgres')} is evaluated for every row"
    return None


@statement_rule
def add_column_rewrite(expr: exp.Expression, ctx: RuleContext) -> Iterator[Hit]:
    """PostgreSQL ADD COLUMN that rewrites the table (volatile default, serial, ...)."""
    altered = alter_table(expr) if ctx.dialect == "postgresql" else None
    if altered is None:
        return
    statement, actions = altered
    table = altered_table(statement, ctx)
    for column in column_defs(actions):
        reason = _rewrite_reason(column, ctx)
        if reason:
            name = column_name(column, ctx)
            message = f"ADD COLUMN {table}.{name} rewrites the whole table under an ACCESS EXCLUSIVE lock: {reason}"
            yield column_hit("add_column_rewrite", "warning", message, table, name)


def _column_defs_anywhere(expr: exp.Expression) -> Iterator[exp.ColumnDef]:
    if isinstance(expr, exp.Create) and isinstance(expr.this, exp.Schema):
        yield from (e for e in expr.this.expressions if isinstance(e, exp.ColumnDef))
    altered = alter_table(expr)
    for action in altered[1] if altered else []:
        if isinstance(action, exp.ModifyColumn) and isinstance(action.this, exp.ColumnDef):
            yield action.this
        elif isinstance(action, exp.ColumnDef):
            yield action


@statement_rule
def inline_references_ignored(expr: exp.Expression, ctx: RuleContext) -> Iterator[Hit]:
    """MySQL column-level REFERENCES: parsed, then silently ignored."""
    if ctx.dialect != "mysql":
        return
    for column in _column_defs_anywhere(expr):
        if has_constraint(column, exp.Reference):
            name = column_name(column, ctx)
            message = (
                f"column-level REFERENCES on {name} creates no foreign key in MySQL before 9.0 "
                "(and MariaDB before 10.5); declare FOREIGN KEY (...) REFERENCES ... instead"
            )
            yield Hit("inline_references_ignored", "warning", message, name)
