"""`faber-db audit`: show the trail, or verify its hash chain against its anchors
(the head file beside it and the heads recorded in backups.json entries)."""

from __future__ import annotations

from dataclasses import dataclass, field

from faber_db.audit import ChainReport, anchor_problem, verify_chain
from faber_db.audit_policy import trail_name
from faber_db.backup_manager.catalogue import Catalogue
from faber_db.config import Config, check_environment_name
from faber_db.errors import CatalogueCorruptError
from faber_db.exit_codes import ExitStatus
from faber_db.result import Result


@dataclass
class TrailReport:
    """The chain's report, and what the catalogue's anchors said about it."""

    chain: ChainReport
    anchors_checked: int = 0
    warnings: list[str] = field(default_factory=list)


def verify_trail(config: Config) -> TrailReport:
    """Verify the chain, then that it still holds every head a catalogue entry recorded
    (a truncated or fully recomputed trail passes its own checks but not this one)."""
    report = TrailReport(verify_chain(config.audit_path))
    try:
        entries = Catalogue.for_config(config).entries()
    except CatalogueCorruptError as error:
        report.warnings.append(f"the catalogue's audit anchors were not checked: {error.message}")
        return report
    name = trail_name(config)
    anchors = [e for e in entries if (e.audit_head or {}).get("path") == name]
    report.anchors_checked = len(anchors)
    if not report.chain.ok:
        return report
    problems = []
    for entry in anchors:
        seq, recorded = int(entry.audit_head["seq"]), entry.audit_head["hash"]
        problem = anchor_problem(report.chain.entries, seq, recorded, f"backup {entry.id}")
        if problem:
            problems.append((min(seq, report.chain.lines + 1), problem))
    if problems:
        line, problem = min(problems)
        report.chain = ChainReport(report.chain.lines, False, line, problem, report.chain.entries)
    return report


def show_audit(config: Config, env: str | None, limit: int) -> Result:
    """The newest `limit` lines (of one environment, if given)."""
    if env is not None:
        check_environment_name(env)
    trail = verify_trail(config)
    report = trail.chain
    entries = [e for e in report.entries if env is None or e.get("environment") == env]
    shown = entries[-limit:] if limit else entries
    warnings = list(trail.warnings)
    message = (
        f"{len(entries)} audited operation(s)"
        + (f" on {env}" if env else "")
        + f"; showing {len(shown)}"
    )
    hidden = 0
    if not report.ok:
        warnings.append(
            f"the audit chain is broken at line {report.first_broken_line}: {report.problem}"
        )
        # Lines from the break on cannot be verified, so they are not shown as history;
        # say how many there are instead of letting the trail look shorter than it is.
        hidden = max(0, _line_count(config.audit_path) - len(report.entries))
        message = (
            f"Audit trail BROKEN at line {report.first_broken_line}: {message} of the "
            f"{len(report.entries)} line(s) before the break; {hidden} line(s) from the break "
            "on are not shown (they cannot be verified)"
        )
    return Result(
        operation="audit",
        environment=env,
        result={
            "path": str(config.audit_path),
            "count": len(entries),
            "chain_ok": report.ok,
            "hidden_after_break": hidden,
            "config": _config_in_force(config),
            "entries": shown,
        },
        message=message,
        warnings=warnings + _config_warnings(config),
        suggestions=[] if report.ok else ["faber-db audit --verify"],
    )


def _line_count(path) -> int:
    """Non-empty lines in the trail, read as bytes (a damaged line still counts)."""
    if not path.exists():
        return 0
    with open(path, "rb") as handle:
        return sum(1 for line in handle if line.strip())


def verify_audit(config: Config) -> Result:
    """Check every line's hash and link and the anchors; name the first broken line."""
    trail = verify_trail(config)
    report = trail.chain
    result = Result(
        operation="audit-verify",
        result={
            "path": str(config.audit_path),
            "lines": report.lines,
            "ok": report.ok,
            "first_broken_line": report.first_broken_line,
            "anchors_checked": trail.anchors_checked,
        },
        message=f"Audit trail intact: {report.lines} line(s), chain verified against "
        f"{trail.anchors_checked} catalogue anchor(s)."
        if report.ok
        else f"Audit trail BROKEN at line {report.first_broken_line}: {report.problem}",
        warnings=trail.warnings + _config_warnings(config),
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


def _config_in_force(config: Config) -> dict:
    return {"path": str(config.path), "sha256": config.sha256, "own": config.is_own}


def _config_warnings(config: Config) -> list[str]:
    if config.is_own:
        return []
    where = (
        "commands under it are audited in the project's own trail"
        if config.audit_override is not None
        else "no project config was found from here, so this is that file's own trail"
    )
    return [
        f"the config in force, {config.path}, is not the project's own "
        f"(.fractary/plugins/faber-db/): {where}"
    ]
