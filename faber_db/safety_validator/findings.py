"""Findings of the safety checker, and the catalogue of rule codes.

This module is light (no sqlglot): the policy and impact modules, and the
CLI, import it without paying for the SQL parser. The codes are a public
contract: ``safety.destructive_operations`` in the config uses them as keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SEVERITIES = ("info", "warning", "danger", "blocked")

#: code -> (default severity, one-line summary); docs/SAFETY_RULES.md explains each.
RULES: dict[str, tuple[str, str]] = {
    "drop_database": ("blocked", "DROP DATABASE (MySQL: also DROP SCHEMA)"),
    "drop_schema": ("blocked", "DROP SCHEMA (PostgreSQL)"),
    "drop_table": ("danger", "DROP TABLE"),
    "drop_column": ("danger", "ALTER TABLE ... DROP COLUMN"),
    "drop_partition": ("danger", "MySQL ALTER TABLE ... DROP/TRUNCATE PARTITION"),
    "drop_view": ("warning", "DROP VIEW (danger with CASCADE)"),
    "drop_materialized_view": ("warning", "PG DROP MATERIALIZED VIEW (danger with CASCADE)"),
    "drop_type": ("warning", "PG DROP TYPE / DOMAIN (danger with CASCADE or when columns use it)"),
    "drop_function": (
        "warning",
        "DROP FUNCTION (PG: also ROUTINE, AGGREGATE; danger with CASCADE)",
    ),
    "drop_procedure": ("warning", "DROP PROCEDURE (danger with CASCADE)"),
    "drop_trigger": ("warning", "DROP TRIGGER (danger with CASCADE)"),
    "drop_sequence": ("warning", "DROP SEQUENCE (PG, MariaDB; danger with CASCADE)"),
    "drop_event": ("warning", "MySQL DROP EVENT"),
    "truncate": ("danger", "TRUNCATE"),
    "truncate_cascade": ("danger", "TRUNCATE ... CASCADE"),
    "delete_without_where": ("danger", "DELETE without WHERE"),
    "update_without_where": ("danger", "UPDATE without WHERE"),
    "alter_column_type": ("danger", "column type change (danger when it can lose data)"),
    "add_not_null_without_default": ("danger", "ADD COLUMN ... NOT NULL without DEFAULT"),
    "alter_type_add_value_in_transaction": ("danger", "ALTER TYPE ... ADD VALUE before PG 12"),
    "set_not_null": ("warning", "SET NOT NULL / MODIFY ... NOT NULL"),
    "drop_not_null": ("warning", "DROP NOT NULL"),
    "add_unique_constraint": ("warning", "ADD UNIQUE constraint"),
    "add_primary_key": ("warning", "ADD PRIMARY KEY"),
    "create_unique_index": ("warning", "CREATE UNIQUE INDEX"),
    "create_index_non_concurrent": ("warning", "PG CREATE INDEX without CONCURRENTLY"),
    "drop_index": ("warning", "DROP INDEX"),
    "drop_constraint": ("warning", "DROP CONSTRAINT / PRIMARY KEY / CHECK"),
    "drop_foreign_key": ("warning", "MySQL DROP FOREIGN KEY"),
    "add_foreign_key": ("warning", "ADD FOREIGN KEY (PG: without NOT VALID)"),
    "add_check_constraint": ("warning", "ADD CHECK (PG: without NOT VALID)"),
    "add_column_rewrite": ("warning", "PG ADD COLUMN that rewrites the table"),
    "vacuum_full_or_cluster": ("warning", "PG VACUUM FULL / CLUSTER"),
    "reindex_non_concurrent": ("warning", "PG REINDEX without CONCURRENTLY"),
    "detach_partition_non_concurrent": ("warning", "PG DETACH PARTITION without CONCURRENTLY"),
    "mysql_blocking_alter": ("warning", "MySQL ALGORITHM=COPY or LOCK=SHARED/EXCLUSIVE"),
    "rename_table": ("warning", "rename a table"),
    "rename_column": ("warning", "rename a column"),
    "inline_references_ignored": ("warning", "MySQL column-level REFERENCES"),
    "transaction_control": ("warning", "BEGIN/COMMIT/ROLLBACK inside a migration"),
    "mixed_ddl_dml": ("warning", "data changes mixed with schema changes"),
    "unparsed": ("warning", "statement the checker could not fully parse"),
    "non_transactional": ("info", "statement that cannot run in a transaction"),
    "table_rebuild": ("info", "table rebuilt by copy (SQLite pattern)"),
    "down_does_not_restore_schema": (
        "danger",
        "down.sql, proven on a scratch database, does not give back the schema before its migration",
    ),
}


@dataclass
class Hit:
    """What a rule reports about one statement, before it gets a position."""

    rule: str
    severity: str
    message: str
    object: str | None = None
    table: str | None = None
    columns: tuple[str, ...] = ()


@dataclass
class Finding:
    """One problem found in a migration, located to a statement and line.

    ``table`` and ``columns`` name what ``object`` points at, for the impact
    probes: ``table`` is "name" or "schema.name" as PostgreSQL folds it
    (unquoted names lower-cased), MySQL and SQLite names as written.
    """

    rule: str
    severity: str
    message: str
    migration: str | None
    statement_index: int
    line: int
    object: str | None
    statement: str
    impact: dict | None = None
    table: str | None = None
    columns: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        return {
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
            "migration": self.migration,
            "statement_index": self.statement_index,
            "line": self.line,
            "object": self.object,
            "statement": self.statement,
            "impact": dict(self.impact) if self.impact is not None else None,
            "table": self.table,
            "columns": list(self.columns),
        }


def severity_rank(severity: str) -> int:
    """Position of severity in SEVERITIES (unknown ones rank as warning)."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else 1


def truncate_statement(text: str, limit: int = 200) -> str:
    """Statement text on one line, cut to about limit characters.

    Only a prefix of a long text is flattened (a prefix's words are the text's
    first words), so a finding on a huge statement costs no more than a small one.
    """
    size = 4 * limit
    while True:
        flat = " ".join(text[:size].split())
        if len(flat) > limit:
            return flat[: limit - 1] + "…"
        if size >= len(text):
            return flat
        size *= 2
