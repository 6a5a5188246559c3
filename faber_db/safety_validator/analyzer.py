"""analyze_script: every dangerous operation in a migration, located to a line.

Each statement from ``split_sql`` is parsed with sqlglot and run through the
statement rules; what sqlglot cannot parse goes to the keyword fallback and,
unless the fallback understood it completely, also gets an ``unparsed``
warning. Statements inside DO blocks are analysed as if they were top-level
(they run now); statements inside function, procedure and trigger bodies are
analysed too but capped at "warning" (they run later, when called). Inner
statements report the outer statement's index and line.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

from faber_db.safety_validator.fallback import analyze_fallback
from faber_db.safety_validator.findings import Finding, Hit, severity_rank, truncate_statement
from faber_db.safety_validator.inserts import plain_insert_target
from faber_db.safety_validator.parsing import (
    category_from_words,
    parse_statement,
    statement_category,
)
from faber_db.safety_validator.routines import Routine, body_statements, routine_of
from faber_db.safety_validator.rules import run_statement_rules
from faber_db.safety_validator.rules.base import RuleContext
from faber_db.safety_validator.script_rules import Analysed, Facts, apply_script_rules, facts_of
from faber_db.safety_validator.shapes import quick_unit
from faber_db.safety_validator.sqlnames import token_name
from faber_db.sql.split import (
    Statement,
    leading_words,
    normalize_dialect,
    split_sql,
    tokenize,
)
from faber_db.sql.transactions import requires_no_transaction

# Past this size an INSERT is data, not schema: sqlglot would spend seconds on it.
_BULK_INSERT_BYTES = 100_000
# sqlglot's time grows faster than a statement's size (10x the text, ~18x the time):
# larger statements get the linear keyword fallback instead.
PARSER_MAX_BYTES = 100_000
# Statements the fast path's grammar covers skip sqlglot (fastpath.py); tests turn it
# off to compare both paths.
FAST_PATH = True


def analyze_script(
    script: str,
    dialect: str,
    migration: str | None = None,
    server_version: tuple | None = None,
) -> list[Finding]:
    """Findings for one migration script, in statement order.

    dialect is "postgresql", "mysql" or "sqlite" (aliases accepted);
    server_version, when known, refines version-dependent rules (PostgreSQL
    ADD VALUE before 12, ADD COLUMN defaults before 11).
    """
    dialect = normalize_dialect(dialect)
    ctx = RuleContext(dialect, tuple(server_version) if server_version else None)
    with _fewer_full_collections():
        statements = split_sql(script, dialect)
        units = [unit for stmt in statements for unit in _analyze_statement(stmt, ctx)]
    apply_script_rules(units)
    by_index = {stmt.index: stmt for stmt in statements}
    findings = [
        _finding(hit, unit, by_index[unit.index], migration) for unit in units for hit in unit.hits
    ]
    return sorted(findings, key=lambda f: f.statement_index)


@contextmanager
def _fewer_full_collections() -> Iterator[None]:
    """Let the garbage collector's full passes run 10x less often while the units pile up.

    Each full pass walks every live object, and the results of 120,000 statements
    (10 MB of small DDL) made those passes a quarter of the check, growing with the
    script. Young generations are collected as usual, so sqlglot's short-lived trees
    (cyclic) still go quickly; the old threshold is restored afterwards.
    """
    young, middle, old = gc.get_threshold()
    gc.set_threshold(young, middle, old * 10)
    try:
        yield
    finally:
        gc.set_threshold(young, middle, old)


def _finding(hit: Hit, unit: Analysed, stmt: Statement, migration: str | None) -> Finding:
    return Finding(
        rule=hit.rule,
        severity=hit.severity,
        message=hit.message,
        migration=migration,
        statement_index=stmt.index,
        line=stmt.line,
        object=hit.object,
        statement=truncate_statement(unit.text),
        table=hit.table,
        columns=tuple(hit.columns),
    )


def _analyze_statement(stmt: Statement, ctx: RuleContext) -> list[Analysed]:
    # The fast path's statements are never routines nor refused in a transaction.
    fast = quick_unit(stmt.index, stmt.text, ctx) if FAST_PATH else None
    if fast is not None:
        return [fast]
    routine = routine_of(stmt.text, ctx.dialect)
    if routine is not None:
        return _routine_units(stmt, routine, ctx)
    unit = _analyze_text(stmt.index, stmt.text, ctx, fast_tried=True)
    unit.hits.extend(_non_transactional(stmt, unit.hits, ctx))
    return [unit]


def _analyze_text(index: int, text: str, ctx: RuleContext, fast_tried: bool = False) -> Analysed:
    fast = quick_unit(index, text, ctx) if FAST_PATH and not fast_tried else None
    if fast is not None:
        return fast
    target = plain_insert_target(text, ctx.dialect)
    if target is not None:
        return Analysed(index, text, None, [], "dml", facts=Facts(writes=target))
    if _bulk_insert(text):
        return Analysed(index, text, None, [], "dml", facts=_bulk_insert_facts(text, ctx.dialect))
    text = _unwrap_executable_comment(text) if ctx.dialect == "mysql" else text
    if len(text) > PARSER_MAX_BYTES:
        return _keywords_only(index, text, ctx, _too_large(text))
    expr = parse_statement(text, ctx.dialect)
    if expr is not None:
        hits = run_statement_rules(expr, ctx)
        facts = facts_of(expr, ctx.dialect)
        # The tree is not kept: thousands of live sqlglot trees (cyclic, with parent
        # links) made the garbage collector's passes grow with the script.
        return Analysed(index, text, None, hits, statement_category(expr), facts=facts)
    return _keywords_only(index, text, ctx, _unparsed(text))


def _keywords_only(index: int, text: str, ctx: RuleContext, unparsed: Hit) -> Analysed:
    """The keyword fallback's findings, plus unparsed unless it understood everything."""
    fallback = analyze_fallback(text, ctx)
    hits = list(fallback.hits)
    if not fallback.understood:
        hits.append(unparsed)
    category = category_from_words(leading_words(text, ctx.dialect, 64))
    return Analysed(index, text, None, hits, category)


def _bulk_insert(text: str) -> bool:
    return len(text) > _BULK_INSERT_BYTES and text.lstrip()[:6].upper() in ("INSERT", "REPLAC")


def _bulk_insert_facts(text: str, dialect: str) -> Facts:
    tokens = tokenize(text, dialect, limit=8)
    start = 2 if len(tokens) > 2 and tokens[1].text.upper() == "INTO" else 1
    return Facts(writes=token_name(tokens[start], dialect)) if len(tokens) > start else Facts()


def _unwrap_executable_comment(text: str) -> str:
    """MySQL runs the body of /*!40101 ... */ (and MariaDB's /*M!...*/): analyse that."""
    if text.startswith(("/*!", "/*M!")) and text.endswith("*/"):
        inner = text[text.index("!") + 1 : -2]
        return inner.lstrip("0123456789").strip() or text
    return text


def _too_large(text: str) -> Hit:
    head = truncate_statement(text, 40)
    message = (
        f"this statement ({head}) is {len(text) // 1000} KB, too large for the parser: "
        "it was checked by keywords only, so review it by hand"
    )
    return Hit("unparsed", "warning", message)


def _unparsed(text: str) -> Hit:
    head = truncate_statement(text, 40)
    message = (
        f"could not parse this statement ({head}): it was checked by keywords only, "
        "so review it by hand"
    )
    return Hit("unparsed", "warning", message)


def _non_transactional(stmt: Statement, hits: list[Hit], ctx: RuleContext) -> list[Hit]:
    reason = requires_no_transaction(stmt, ctx.dialect, ctx.server_version)
    if reason is None or any(
        h.severity == "blocked" or h.rule.startswith("alter_type") for h in hits
    ):
        return []
    message = f"{reason}: this migration runs outside a transaction, so a later failure cannot be rolled back"
    return [Hit("non_transactional", "info", message)]


def _routine_units(stmt: Statement, routine: Routine, ctx: RuleContext) -> list[Analysed]:
    runs_now = routine.kind in ("do", "block")
    outer = Analysed(stmt.index, stmt.text, None, [], "other" if runs_now else "ddl")
    if routine.body is None:
        if runs_now:
            message = (
                f"DO block in language {routine.language} cannot be checked: review it by hand"
            )
            outer.hits.append(Hit("unparsed", "warning", message))
        return [outer]
    return [outer, *_body_units(stmt, routine, outer, ctx)]


def _body_units(
    stmt: Statement, routine: Routine, outer: Analysed, ctx: RuleContext
) -> list[Analysed]:
    """The statements of a routine body; dynamic SQL is reported on the outer unit."""
    where, runs_now = _where(routine), routine.kind in ("do", "block")
    units = []
    for inner in body_statements(routine.body or "", ctx.dialect):
        if inner.dynamic:
            shown = truncate_statement(inner.text, 60)
            outer.hits.append(
                Hit("unparsed", "warning", f"{where}: dynamic SQL ({shown}) cannot be checked")
            )
            continue
        unit = _analyze_text(stmt.index, inner.text, ctx)
        unit.in_routine = not runs_now
        # A procedure may commit its own work; that only matters when the body runs now.
        kept = [hit for hit in unit.hits if runs_now or hit.rule != "transaction_control"]
        unit.hits = [_inside(hit, where, runs_now) for hit in kept]
        units.append(unit)
    return units


def _where(routine: Routine) -> str:
    if routine.kind == "do":
        return "in DO block"
    if routine.kind == "block":
        return "in BEGIN NOT ATOMIC block"
    return f"in {routine.kind} {routine.name} (runs when called)"


def _inside(hit: Hit, where: str, runs_now: bool) -> Hit:
    severity = hit.severity
    if not runs_now and severity_rank(severity) > severity_rank("warning"):
        severity = "warning"
    return Hit(hit.rule, severity, f"{where}: {hit.message}", hit.object, hit.table, hit.columns)
