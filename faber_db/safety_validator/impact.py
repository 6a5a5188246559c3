"""Fill findings' ``impact`` from a live database, through a pluggable probe.

A probe answers four questions and returns None for what it cannot measure
(a missing table, no permission, an engine without the statistic)::

    row_count(table) -> int | None
    null_count(table, column) -> int | None
    table_size_bytes(table) -> int | None
    duplicate_count(table, columns) -> int | None   # rows a new UNIQUE/PK would reject

``table`` is the finding's table ("name" or "schema.name", unquoted); the
probe quotes it. Each question is asked once per table (or column) however
many findings share it.

A probe may also answer ``dependants(rule, object, table) -> list[str] | None``
for the drop_view, drop_type, drop_function, ... findings: what uses the
dropped object ("column public.users.role", "view public.v2", for a trigger
the table it fires on); for drop_table and table_rebuild, the views, foreign
keys and triggers that go with the table or break. A probe without the method, or without a connection,
leaves those findings as the rules made them.

Escalation: ``create_index_non_concurrent`` becomes "danger" when the table
holds more than LARGE_TABLE_ROWS rows or LARGE_TABLE_BYTES bytes, because the
write lock then lasts minutes rather than milliseconds. ``drop_type`` becomes
"danger" when columns use the type: without CASCADE the migration fails there,
with CASCADE those columns and their data are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from faber_db.safety_validator.findings import Finding
from faber_db.safety_validator.sqlnames import same_table

LARGE_TABLE_ROWS = 100_000
LARGE_TABLE_BYTES = 100 * 1024 * 1024


class ImpactProbe(Protocol):
    """What estimate_impact asks a live database."""

    def row_count(self, table: str) -> int | None:
        """Rows in table (an estimate is fine)."""

    def null_count(self, table: str, column: str) -> int | None:
        """Rows of table where column IS NULL."""

    def table_size_bytes(self, table: str) -> int | None:
        """Size of table with its indexes."""

    def duplicate_count(self, table: str, columns: Sequence[str]) -> int | None:
        """Rows that share their columns' values with an earlier row."""


class _CachedProbe:
    """Asks the real probe each distinct question once."""

    def __init__(self, probe: ImpactProbe) -> None:
        self.probe = probe
        self.answers: dict[tuple, Any] = {}

    def ask(self, method: str, *args: Any) -> Any:
        """The probe's answer to method(*args), asked at most once (None: it cannot say)."""
        key = (method, *args)
        if key not in self.answers:
            answer = getattr(self.probe, method, None)
            self.answers[key] = answer(*args) if answer is not None else None
        return self.answers[key]


def _rows(finding: Finding, probe: _CachedProbe) -> dict[str, int | None]:
    return {"rows": probe.ask("row_count", finding.table)}


def _rows_and_size(finding: Finding, probe: _CachedProbe) -> dict[str, int | None]:
    return {**_rows(finding, probe), "table_bytes": probe.ask("table_size_bytes", finding.table)}


def _rows_and_nulls(finding: Finding, probe: _CachedProbe) -> dict[str, int | None]:
    impact = _rows(finding, probe)
    if finding.columns:
        impact["nulls"] = probe.ask("null_count", finding.table, finding.columns[0])
    return impact


def _rows_and_duplicates(finding: Finding, probe: _CachedProbe) -> dict[str, int | None]:
    impact = _rows(finding, probe)
    if finding.columns:
        impact["duplicates"] = probe.ask("duplicate_count", finding.table, tuple(finding.columns))
    return impact


def _dependants(finding: Finding, probe: _CachedProbe) -> dict[str, Any]:
    answer = probe.ask("dependants", finding.rule, finding.object, finding.table)
    return {"dependants": list(answer) if answer is not None else None}


def _rows_and_dependants(finding: Finding, probe: _CachedProbe) -> dict[str, Any]:
    return {**_rows(finding, probe), **_dependants(finding, probe)}


#: Rules measured by the dropped object's name rather than by a table.
OBJECT_RULES = (
    "drop_view",
    "drop_materialized_view",
    "drop_type",
    "drop_function",
    "drop_procedure",
    "drop_trigger",
    "drop_sequence",
    "drop_event",
)
#: How many dependants a message names before "and N more".
SHOWN_DEPENDANTS = 5

Measure = Callable[[Finding, _CachedProbe], dict[str, Any]]
MEASURES: dict[str, Measure] = {
    "drop_table": _rows_and_dependants,
    "truncate": _rows,
    "truncate_cascade": _rows,
    "delete_without_where": _rows,
    "update_without_where": _rows,
    "drop_column": _rows,
    "add_not_null_without_default": _rows,
    "table_rebuild": _rows_and_dependants,
    "add_foreign_key": _rows,
    "add_check_constraint": _rows,
    "set_not_null": _rows_and_nulls,
    "add_unique_constraint": _rows_and_duplicates,
    "add_primary_key": _rows_and_duplicates,
    "create_unique_index": _rows_and_duplicates,
    "create_index_non_concurrent": _rows_and_size,
    "alter_column_type": _rows_and_size,
    "add_column_rewrite": _rows_and_size,
    "vacuum_full_or_cluster": _rows_and_size,
    **dict.fromkeys(OBJECT_RULES, _dependants),
}


def estimate_impact(findings: list[Finding], probe: ImpactProbe) -> None:
    """Set ``impact`` on every finding the probe can measure; may raise severity.

    findings are in the order they run (migration by migration).
    """
    cached = _CachedProbe(probe)
    for position, finding in enumerate(findings):
        measure = MEASURES.get(finding.rule)
        if measure is None or not (finding.object if measure is _dependants else finding.table):
            continue
        impact = {
            key: value for key, value in measure(finding, cached).items() if value is not None
        }
        finding.impact = impact or None
        _escalate(finding, findings[:position])


def _escalate(finding: Finding, earlier: list[Finding]) -> None:
    if finding.impact and finding.impact.get("dependants"):
        _name_dependants(finding, finding.impact["dependants"], earlier)
    if finding.rule != "create_index_non_concurrent" or not finding.impact:
        return
    rows = finding.impact.get("rows") or 0
    size = finding.impact.get("table_bytes") or 0
    if rows > LARGE_TABLE_ROWS or size > LARGE_TABLE_BYTES:
        finding.severity = "danger"
        finding.message += f" ({finding.table} holds {rows:,} rows, {size / 1024 / 1024:,.0f} MB)"


_QUOTED_OR_PLAIN = re.compile(r'"((?:[^"]|"")*)"|([^."]+)')


def _name_parts(text: str) -> list[str]:
    """The parts of a dotted name as PostgreSQL prints it (quote_ident, regclass)."""
    return [
        quoted.replace('""', '"') if quoted or not plain else plain
        for quoted, plain in _QUOTED_OR_PLAIN.findall(text)
    ]


def _column_left_earlier(dependant: str, earlier: list[Finding]) -> bool:
    """True when an earlier statement retypes or drops that column (or its table)."""
    parts = _name_parts(dependant.removeprefix("column "))
    if len(parts) < 2:
        return False
    table, column = ".".join(parts[:-1]), parts[-1]
    for f in earlier:
        if not same_table(f.table, table):
            continue
        if f.rule == "drop_table" or (
            f.rule in ("alter_column_type", "drop_column") and column in f.columns
        ):
            return True
    return False


def _name_dependants(finding: Finding, dependants: list[str], earlier: list[Finding]) -> None:
    shown = ", ".join(dependants[:SHOWN_DEPENDANTS])
    more = len(dependants) - SHOWN_DEPENDANTS
    shown += f" and {more} more" if more > 0 else ""
    if finding.rule == "drop_trigger":
        finding.message += f" (it fires on {shown})"
        return
    label = "affected" if finding.rule in ("drop_table", "table_rebuild") else "used by"
    finding.message += f" ({label}: {shown})"
    columns = [d for d in dependants if d.startswith("column ")]
    if finding.rule == "drop_type" and any(not _column_left_earlier(c, earlier) for c in columns):
        finding.severity = "danger"
        finding.message += (
            "; columns use this type: without CASCADE the migration fails here, "
            "with CASCADE those columns are dropped with their data"
        )
