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

Escalation: ``create_index_non_concurrent`` becomes "danger" when the table
holds more than LARGE_TABLE_ROWS rows or LARGE_TABLE_BYTES bytes, because the
write lock then lasts minutes rather than milliseconds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from faber_db.safety.findings import Finding

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

    def ask(self, method: str, *args: Any) -> int | None:
        """The probe's answer to method(*args), asked at most once."""
        key = (method, *args)
        if key not in self.answers:
            self.answers[key] = getattr(self.probe, method)(*args)
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


Measure = Callable[[Finding, _CachedProbe], dict[str, int | None]]
MEASURES: dict[str, Measure] = {
    "drop_table": _rows,
    "truncate": _rows,
    "truncate_cascade": _rows,
    "delete_without_where": _rows,
    "update_without_where": _rows,
    "drop_column": _rows,
    "add_not_null_without_default": _rows,
    "table_rebuild": _rows,
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
}


def estimate_impact(findings: list[Finding], probe: ImpactProbe) -> None:
    """Set ``impact`` on every finding the probe can measure; may raise severity."""
    cached = _CachedProbe(probe)
    for finding in findings:
        measure = MEASURES.get(finding.rule)
        if measure is None or not finding.table:
            continue
        impact = {
            key: value for key, value in measure(finding, cached).items() if value is not None
        }
        finding.impact = impact or None
        _escalate(finding)


def _escalate(finding: Finding) -> None:
    if finding.rule != "create_index_non_concurrent" or not finding.impact:
        return
    rows = finding.impact.get("rows") or 0
    size = finding.impact.get("table_bytes") or 0
    if rows > LARGE_TABLE_ROWS or size > LARGE_TABLE_BYTES:
        finding.severity = "danger"
        finding.message += f" ({finding.table} holds {rows:,} rows, {size / 1024 / 1024:,.0f} MB)"
