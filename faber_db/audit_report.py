"""`faber-db audit`: show the trail, or verify its hash chain."""

from __future__ import annotations

from faber_db.audit import verify_chain
from faber_db.config import Config, check_environment_name
from faber_db.exit_codes import ExitStatus
from faber_db.result import Result


def show_audit(config: Config, env: str | None, limit: int) -> Result:
    """The newest `limit` lines (of one environment, if given)."""
    if env is not None:
        check_environment_name(env)
    report = verify_chain(config.audit_path)
    entries = [e for e in report.entries if env is None or e.get("environment") == env]
    shown = entries[-limit:] if limit else entries
    warnings = (
        []
        if report.ok
        else [f"the audit chain is broken at line {report.first_broken_line}: {report.problem}"]
    )
    return Result(
        operation="audit",
        environment=env,
        result={
            "path": str(config.audit_path),
            "count": len(entries),
            "chain_ok": report.ok,
            "entries": shown,
        },
        message=f"{len(entries)} audited operation(s)"
        + (f" on {env}" if env else "")
        + f"; showing {len(shown)}",
        warnings=warnings,
    )


def verify_audit(config: Config) -> Result:
    """Check every line's hash and link; name the first broken line."""
    report = verify_chain(config.audit_path)
    result = Result(
        operation="audit-verify",
        result={
            "path": str(config.audit_path),
            "lines": report.lines,
            "ok": report.ok,
            "first_broken_line": report.first_broken_line,
        },
        message=f"Audit trail intact: {report.lines} line(s), chain verified."
        if report.ok
        else f"Audit trail BROKEN at line {report.first_broken_line}: {report.problem}",
    )
    if not report.ok:
        result.status = "error"
        result.error = {"code": "audit_chain_broken", "message": report.problem}
        result.suggestions = [
            f"Inspect line {report.first_broken_line} of {config.audit_path}; "
            "the lines before it are intact"
        ]
        result.exit_status = ExitStatus.FAILURE
    return result
