"""Rules for data changes that touch every row: DELETE/UPDATE without WHERE.

Every DELETE/UPDATE node counts, including those inside CTEs. A MySQL
multi-table form joined with ``ON`` is limited by its join; PostgreSQL's
``USING``/``FROM`` without WHERE is a cross join and is not. ``WHERE 1=1`` and
other conditions that mention no column count as no WHERE.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from faber_db.safety_validator.findings import Hit
from faber_db.safety_validator.rules.base import RuleContext, statement_rule, table_hit
from faber_db.safety_validator.sqlnames import table_name


def _unfiltered(node: exp.Delete | exp.Update) -> bool:
    if node.find_ancestor(exp.Merge) is not None:
        return False
    where = node.args.get("where")
    if where is not None:
        return not _mentions_data(where)
    target = node.this
    joins = target.args.get("joins") if isinstance(target, exp.Table) else None
    return not any(
        join.args.get("on") is not None or join.args.get("using") for join in joins or []
    )


def _mentions_data(where: exp.Expression) -> bool:
    return where.find(exp.Column, exp.Query, exp.Exists, exp.Subquery, exp.Placeholder) is not None


def _target(node: exp.Delete | exp.Update, ctx: RuleContext) -> str:
    tables = node.args.get("tables")
    target = tables[0] if tables else node.this
    return table_name(target, ctx.dialect) if isinstance(target, exp.Table) else ""


@statement_rule
def delete_without_where(expr: exp.Expression, ctx: RuleContext) -> Iterator[Hit]:
    """DELETE with no (or an always-true) WHERE empties the table."""
    for node in expr.find_all(exp.Delete):
        if _unfiltered(node):
            name = _target(node, ctx)
            message = f"DELETE FROM {name} has no WHERE clause: it deletes every row"
            yield table_hit("delete_without_where", "danger", message, name)


@statement_rule
def update_without_where(expr: exp.Expression, ctx: RuleContext) -> Iterator[Hit]:
    """UPDATE with no (or an always-true) WHERE rewrites every row."""
    for node in expr.find_all(exp.Update):
        if _unfiltered(node):
            name = _target(node, ctx)
            message = (
                f"UPDATE {name} has no WHERE clause: it overwrites every row "
                "(and locks them all until the transaction ends)"
            )
            yield table_hit("update_without_where", "danger", message, name)
