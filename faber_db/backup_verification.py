"""Verify a backup file: sha256 against the catalogue, a full decompression
test, and the engine's format check (pg_restore -l, the dump trailer, or
PRAGMA integrity_check), all done by the engine's verify-backup handler."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from faber_db.handlers import HandlerCall, handler_paths_env, run_handler
from faber_db.timeutil import format_utc, utcnow
from faber_db.workspace import partial_workspace


@dataclass
class Verification:
    """Outcome of the file checks, stored as the entry's `verification`."""

    checksum: str
    decompression: str
    format: str
    problems: list[str] = field(default_factory=list)
    sha256: str = ""

    @property
    def passed(self) -> bool:
        """All three checks passed."""
        return self.checksum == self.decompression == self.format == "passed"

    def to_dict(self) -> dict:
        """Catalogue form (with the original plugin's integrity_check/file_readable)."""
        return {
            "verified_at": format_utc(utcnow()),
            "checksum": self.checksum,
            "decompression": self.decompression,
            "format": self.format,
            "integrity_check": "passed" if self.passed else "failed",
            "file_readable": self.decompression == "passed",
            "problems": list(self.problems),
        }


def verify_file(
    engine: str, path: Path, fmt: str, compression: str, expected_sha256: str
) -> Verification:
    """Run the three checks on a backup file (or directory)."""
    if not path.exists():
        return Verification("failed", "failed", "failed", [f"backup file {path} is missing"])
    with partial_workspace(path.parent) as work:
        output = run_handler(
            HandlerCall(
                engine,
                "verify-backup",
                handler_paths_env(file=path, format=fmt, compression=compression, work_dir=work),
            )
        )
    problems = list(output["problems"])
    checksum = "passed" if output["sha256"] == expected_sha256 else "failed"
    if checksum == "failed":
        problems.insert(
            0,
            "the file's sha256 differs from the one recorded when it was created (changed or damaged)",
        )
    checks = output["checks"]
    return Verification(
        checksum, checks["decompression"], checks["format"], problems, output["sha256"]
    )
