"""Compare a restored database with the backup's manifest: every table's row
count, the schema fingerprint, and the migration tracking table."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from itertools import combinations

from faber_db.backup_manager.catalogue import BackupEntry
from faber_db.engines.base import Engine, fingerprint
from faber_db.timeutil import format_utc, utcnow

# Extensions are left in place by a PostgreSQL restore (the dump re-creates only its
# own with IF NOT EXISTS), so one created after the backup is reported, not failed.
KEPT_OBJECT_PREFIX = "ext "
MAX_KEPT_OBJECTS = 6


@dataclass
class RestoreVerification:
    """What the comparison found; `passed` is False when any problem was found."""

    tables_checked: int = 0
    row_counts: str = "passed"
    row_counts_checked: str = "after restore"
    schema_fingerprint: str = "passed"
    migrations: str = "passed"
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    mismatched_tables: list[dict] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """No problem found."""
        return not self.problems

    def to_dict(self) -> dict:
        """Result/catalogue form."""
        return {"passed": self.passed, "verified_at": format_utc(utcnow()), **asdict(self)}


def verify_against_backup(
    engine: Engine, db, entry: BackupEntry, migrations_table: str, count_rows: bool = True
) -> RestoreVerification:
    """Check the database behind `db` against what `entry` recorded at backup time.

    count_rows=False checks only which tables exist: for a target whose row counts
    were already compared on the very content that was then swapped or committed.
    """
    report = RestoreVerification(
        row_counts_checked="after restore" if count_rows else "before swap"
    )
    expected = entry.manifest["tables"]
    actual = (
        engine.row_counts(db)
        if count_rows
        else {table: expected.get(table, 0) for table in engine.list_tables(db)}
    )
    _check_tables(report, actual, entry.manifest)
    _check_fingerprint(report, engine.schema_objects(db), entry.manifest["schema_fingerprint"])
    _check_migrations(report, engine.migration_summary(db, migrations_table), entry.migrations)
    return report


def _check_tables(report: RestoreVerification, actual: dict[str, int], manifest: dict) -> None:
    expected: dict[str, int] = manifest["tables"]
    report.tables_checked = len(actual)
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    if missing:
        report.problems.append("tables missing after the restore: " + ", ".join(missing))
    if extra:
        report.problems.append("tables that the backup does not have: " + ", ".join(extra))
    for table in sorted(set(expected) & set(actual)):
        if expected[table] != actual[table]:
            report.mismatched_tables.append(
                {"table": table, "expected": expected[table], "actual": actual[table]}
            )
    if missing or extra:
        report.row_counts = "failed"
    if not report.mismatched_tables:
        return
    detail = ", ".join(
        f"{m['table']} ({m['actual']} rows, backup recorded {m['expected']})"
        for m in report.mismatched_tables
    )
    if manifest.get("row_counts_exact", True):
        report.row_counts = "failed"
        report.problems.append("row counts differ from the backup's manifest: " + detail)
    else:
        report.warnings.append(
            "row counts differ from the manifest, which was not exact (rows changed while the "
            "backup ran): " + detail
        )


def _check_fingerprint(report: RestoreVerification, objects: list[str], expected: str) -> None:
    if fingerprint(objects) == expected:
        return
    kept = sorted(line for line in objects if line.startswith(KEPT_OBJECT_PREFIX))
    for size in range(1, min(len(kept), MAX_KEPT_OBJECTS) + 1):
        for extra in combinations(kept, size):
            if fingerprint([line for line in objects if line not in extra]) == expected:
                names = ", ".join(line.removeprefix(KEPT_OBJECT_PREFIX) for line in extra)
                report.warnings.append(
                    f"extension(s) {names} were created after the backup and were left in place"
                )
                return
    report.schema_fingerprint = "failed"
    report.problems.append("the schema differs from the backup's (schema fingerprint mismatch)")


def _check_migrations(report: RestoreVerification, actual: dict, expected: dict) -> None:
    if actual["migrations_list"] == expected.get("migrations_list", []):
        return
    report.migrations = "failed"
    report.problems.append(
        "the migration tracking table differs from the backup's: "
        f"{actual['applied_count']} applied (last {actual['last_migration'] or '-'}), "
        f"backup recorded {expected.get('applied_count', 0)} (last {expected.get('last_migration') or '-'})"
    )
