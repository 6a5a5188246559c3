"""The Result every command function returns, rendered by cli.py as text or JSON."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from faber_db.exit_codes import ExitStatus

# How long work reports what it is doing (cli shows it on a terminal): one line at a time.
Progress = Callable[[str], None]
STATUSES = ("success", "error", "approval_required", "dry_run")


@dataclass
class Result:
    """Outcome of one operation, matching schemas/result.schema.json once serialised."""

    operation: str
    status: str = "success"
    environment: str | None = None
    result: dict = field(default_factory=dict)
    message: str = ""
    warnings: list[str] = field(default_factory=list)
    error: dict | None = None
    suggestions: list[str] = field(default_factory=list)
    exit_status: ExitStatus | None = None

    def to_dict(self) -> dict:
        """Serialise to the JSON output contract."""
        out = {
            "status": self.status,
            "operation": self.operation,
            "environment": self.environment,
            "result": self.result,
            "message": self.message,
            "warnings": list(self.warnings),
        }
        if self.error is not None:
            out["error"] = self.error
        if self.suggestions or self.status in ("error", "approval_required"):
            out["recovery"] = {"suggestions": list(self.suggestions)}
        return out

    def resolved_exit_status(self) -> ExitStatus:
        """Exit status for this result: explicit if set, else derived from status."""
        if self.exit_status is not None:
            return self.exit_status
        if self.status == "approval_required":
            return ExitStatus.APPROVAL_REQUIRED
        if self.status == "error":
            return ExitStatus.FAILURE
        return ExitStatus.SUCCESS
