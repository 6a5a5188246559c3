"""The rule registry and the small sqlglot helpers every rule shares.

A rule is a function ``rule(expr, ctx) -> Iterable[Hit]`` registered with
``@statement_rule``; it sees one parsed statement and knows nothing of its
position in the script (the analyzer adds that).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from sqlglot import exp

from faber_db.safety_validator.findings import Hit
from faber_db.safety_validator.sqlnames import column_object, identifier_name, table_name


@dataclass(frozen=True)
class RuleContext:
    """What a rule may know besides the statement: engine and server version."""

    dialect: str
    server_version: tuple[int, ...] | None = None

    def version_below(self, major: int) -> bool:
        """True when the server version is known and older than major."""
        return self.server_version is not None and tuple(self.server_version) < (major,)


#: The key of a dialect table's entry for engines the table does not name.
ANY_DIALECT = "*"


def for_dialect(table: Mapping[str, str], dialect: str) -> str:
    """table's entry for dialect, or its generic ANY_DIALECT entry: never a KeyError."""
    return table.get(dialect, table[ANY_DIALECT])


Rule = Callable[[exp.Expression, RuleContext], Iterable[Hit]]
STATEMENT_RULES: list[Rule] = []


def statement_rule(function: Rule) -> Rule:
    """Register function as a statement rule (in definition order)."""
    STATEMENT_RULES.append(function)
    return function


def alter_table(expr: exp.Expression) -> tuple[exp.Alter, list[exp.Expression]] | None:
    """(statement, actions) for an ALTER TABLE, else None."""
    if isinstance(expr, exp.Alter) and str(expr.args.get("kind") or "").upper() == "TABLE":
        return expr, list(expr.args.get("actions") or [])
    return None


def altered_table(expr: exp.Alter, ctx: RuleContext) -> str:
    """Name of the table an ALTER TABLE changes."""
    return table_name(expr.this, ctx.dialect)


def alter_table_parts(
    expr: exp.Expression, ctx: RuleContext
) -> tuple[exp.Alter, str, list[exp.Expression]] | None:
    """(statement, table name, actions) for an ALTER TABLE, else None."""
    altered = alter_table(expr)
    if altered is None:
        return None
    statement, actions = altered
    return statement, altered_table(statement, ctx), actions


def kind_of(expr: exp.Expression) -> str:
    """The upper-cased ``kind`` argument (TABLE, INDEX, COLUMN, ...)."""
    return str(expr.args.get("kind") or "").upper()


def drop_targets(expr: exp.Drop) -> list[exp.Expression]:
    """The objects a DROP names."""
    return list(expr.args.get("tables") or ([expr.this] if expr.this is not None else []))


def column_hit(rule: str, severity: str, message: str, table: str, column: str) -> Hit:
    """A hit about one column of a table."""
    return Hit(rule, severity, message, column_object(table, column), table, (column,))


def table_hit(rule: str, severity: str, message: str, table: str) -> Hit:
    """A hit about a whole table."""
    return Hit(rule, severity, message, table or None, table or None)


def column_defs(actions: list[exp.Expression]) -> Iterator[exp.ColumnDef]:
    """ColumnDefs added by ALTER TABLE ... ADD [COLUMN]."""
    return (action for action in actions if isinstance(action, exp.ColumnDef))


def constraint_kinds(column: exp.ColumnDef) -> list[exp.Expression]:
    """The kinds (NotNullColumnConstraint, DefaultColumnConstraint, ...) of a column."""
    return [c.args.get("kind") for c in column.args.get("constraints") or [] if c.args.get("kind")]


def has_constraint(column: exp.ColumnDef, *types: type) -> bool:
    """True when the column definition carries a constraint of one of types."""
    return any(isinstance(kind, types) for kind in constraint_kinds(column))


def is_not_null(column: exp.ColumnDef) -> bool:
    """True for NOT NULL (or PRIMARY KEY, which implies it)."""
    for kind in constraint_kinds(column):
        if isinstance(kind, exp.NotNullColumnConstraint) and not kind.args.get("allow_null"):
            return True
        if isinstance(kind, exp.PrimaryKeyColumnConstraint):
            return True
    return False


def column_name(node: exp.Expression | None, ctx: RuleContext) -> str:
    """Name of a column node (Identifier, Column or ColumnDef)."""
    if isinstance(node, exp.ColumnDef):
        node = node.this
    return identifier_name(node, ctx.dialect)


def added_constraints(
    actions: list[exp.Expression], ctx: RuleContext
) -> Iterator[tuple[str | None, exp.Expression]]:
    """(constraint name, constraint) for each ALTER TABLE ... ADD [CONSTRAINT n] ..."""
    for action in actions:
        if not isinstance(action, exp.AddConstraint):
            continue
        for item in action.expressions:
            if isinstance(item, exp.Constraint):
                name = identifier_name(item.this, ctx.dialect)
                for inner in item.expressions:
                    yield name, inner
            else:
                yield None, item


def column_list(items: Iterable[exp.Expression] | None, ctx: RuleContext) -> tuple[str, ...]:
    """Plain column names in a key or index column list (expressions are skipped)."""
    names = []
    for item in items or []:
        if isinstance(item, exp.Ordered):
            item = item.this
        if isinstance(item, (exp.Column, exp.Identifier)):
            names.append(identifier_name(item, ctx.dialect))
    return tuple(names)
