"""Statement rules: each module registers its rules on import."""

from __future__ import annotations

from sqlglot import exp

from faber_db.safety_validator.findings import Hit
from faber_db.safety_validator.rules import (  # noqa: F401
    columns,
    constraints,
    data,
    drops,
    indexes,
    misc,
    objects,
)
from faber_db.safety_validator.rules.base import STATEMENT_RULES, RuleContext


def run_statement_rules(expr: exp.Expression, ctx: RuleContext) -> list[Hit]:
    """Every hit of every registered rule on one parsed statement."""
    return [hit for rule in STATEMENT_RULES for hit in rule(expr, ctx)]
