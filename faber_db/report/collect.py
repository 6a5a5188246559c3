"""Gather a report's data from the catalogue, the audit trail, the tracking tables
and the health/drift state files. Nothing here fails the report: an unreadable
source becomes a note on the page (and a warning in the result)."""

from __future__ import annotations

import json
from pathlib import Path

from faber_db.audit import ChainReport
from faber_db.audit_report import TrailReport, verify_trail
from faber_db.backup_manager.catalogue import BackupEntry, Catalogue
from faber_db.config import (
    ENV_NAME_RE,
    Config,
    check_environment_name,
    unknown_environment,
)
from faber_db.errors import CatalogueCorruptError, FaberError
from faber_db.migration_deployer.status import migration_status
from faber_db.plans import plan_path
from faber_db.report.model import (
    BackupPoint,
    ChainStatus,
    EnvironmentReport,
    Event,
    Finding,
    MigrationRecord,
    Report,
    StateFile,
    Tracking,
)
from faber_db.timeutil import parse_utc, utcnow

EVENT_OPERATIONS = ("restore", "rollback")
# Audit results where nothing was restored: the approval line before the work, a refusal.
NOT_OUTCOMES = ("approved", "recorded", "approval_required")
STATE_FILE_MAX_BYTES = 1 << 20


def collect_report(config: Config, only: str | None = None, probe: bool = True) -> Report:
    """The report of one environment (`only`) or of every one the config, the catalogue
    or the audit trail names; `probe` False skips the tracking tables."""
    now = utcnow()
    warnings: list[str] = []
    trail = read_trail(config)
    warnings += trail.warnings
    chain = ChainStatus(
        ok=trail.chain.ok,
        lines=trail.chain.lines,
        anchors_checked=trail.anchors_checked,
        first_broken_line=trail.chain.first_broken_line,
        problem=trail.chain.problem,
        path=str(config.audit_path),
    )
    if not chain.ok:
        warnings.append(
            f"the audit chain is broken at line {chain.first_broken_line}: only the lines "
            "before it are in the report"
        )
    entries = catalogue_entries(config, warnings)
    environments = environment_names(config, only, entries, trail.chain.entries)
    reports = [
        environment_report(config, env, entries, trail.chain.entries, now, probe, warnings)
        for env in environments
    ]
    return Report(
        generated_at=now,
        project=str(config.project_root),
        config_path=str(config.path),
        chain=chain,
        environments=reports,
        warnings=warnings,
    )


def read_trail(config: Config) -> TrailReport:
    """The verified trail; one that cannot be read at all counts as broken at line 1."""
    try:
        return verify_trail(config)
    except OSError as error:
        problem = f"the audit trail could not be read: {error.strerror or error}"
        return TrailReport(ChainReport(0, False, 1, problem))


def environment_names(
    config: Config, only: str | None, entries: list[BackupEntry], audit: list[dict]
) -> list[str]:
    """The configured environments and those only the history still names (an
    environment removed from the config keeps its record); `only` checked against both."""
    names = set(config.environments) | {e.environment for e in entries}
    names |= {_text(line.get("environment")) for line in audit}
    # A name becomes a state-file path: only names faber-db itself accepts.
    names = {name for name in names if name and ENV_NAME_RE.match(name)}
    if only is None:
        return sorted(names)
    check_environment_name(only)
    if only not in names:
        raise unknown_environment(only, sorted(names))
    return [only]


def catalogue_entries(config: Config, warnings: list[str]) -> list[BackupEntry]:
    """Every catalogue entry, or none (with a warning) when backups.json is damaged."""
    try:
        return Catalogue.for_config(config).entries()
    except CatalogueCorruptError as error:
        warnings.append(f"the backup catalogue could not be read: {error.message}")
        return []


def environment_report(
    config: Config,
    env: str,
    entries: list[BackupEntry],
    audit: list[dict],
    now,
    probe: bool,
    warnings: list[str],
) -> EnvironmentReport:
    """One environment's section."""
    lines = [line for line in audit if line.get("environment") == env]
    report = EnvironmentReport(
        name=env,
        protected=config.is_protected(env),
        backups=sorted(
            (backup_point(e, now) for e in entries if e.environment == env),
            key=lambda b: (b.time, b.id),
        ),
        events=[event for event in map(event_of, lines) if event is not None],
        migrations=migrations_from_audit(config.state_dir, lines),
        health=state_file(config.state_dir, "health", env),
        drift=state_file(config.state_dir, "drift", env),
    )
    report.configured = env in config.environments
    if probe and report.configured:
        report.tracking = tracking_of(config, env)
        merge_tracking(report)
        if not report.tracking.reachable:
            warnings.append(f"{env}: the tracking table was not read: {report.tracking.detail}")
    return report


def backup_point(entry: BackupEntry, now) -> BackupPoint:
    """A catalogue entry as a point on the timeline."""
    remote = entry.extra.get("remote")
    return BackupPoint(
        id=entry.id,
        time=_moment(entry.timestamp) or now,
        size_bytes=int(entry.size_bytes or 0),
        duration_seconds=float(entry.duration_seconds or 0),
        status=str(entry.status),
        expired=_expired(entry.expires_at, now),
        reason=str(entry.reason),
        label=entry.label,
        remote_status=str(remote.get("status")) if isinstance(remote, dict) else None,
        encrypted=isinstance(entry.extra.get("encryption"), dict),
    )


def event_of(line: dict) -> Event | None:
    """A restore or rollback line of the audit trail as an event (None for others)."""
    if line.get("operation") not in EVENT_OPERATIONS or line.get("result") in NOT_OUTCOMES:
        return None
    moment = _moment(line.get("time"))
    if moment is None:
        return None
    return Event(
        time=moment,
        operation=line["operation"],
        result=str(line.get("result")),
        user=_who(line),
        backup_id=_text(line.get("backup_id")),
        safety_backup_id=_text(line.get("safety_backup_id")),
        plan_id=_text(line.get("plan_id")),
        error_code=_text(line.get("error_code")),
        migrations_rolled_back=_names(line.get("migrations_rolled_back")),
    )


def migrations_from_audit(state_dir: Path, lines: list[dict]) -> list[MigrationRecord]:
    """Every migration a successful `migrate` applied, with its actor, its plan and
    whether a person approved that plan (gated runs write an `approved` line first)."""
    records = []
    approved = {
        _text(line.get("plan_id"))
        for line in lines
        if line.get("operation") == "migrate" and line.get("result") == "approved"
    }
    for line in lines:
        if line.get("operation") != "migrate" or line.get("result") != "success":
            continue
        plan = _text(line.get("plan_id"))
        findings, kept = plan_findings(state_dir, plan)
        for name in _names(line.get("migrations_applied")):
            records.append(
                MigrationRecord(
                    name=str(name),
                    applied_at=_text(line.get("time")),
                    user=_text(line.get("user")),
                    agent_claimed=_text(line.get("agent_claimed") or line.get("agent")),
                    plan_id=plan,
                    findings=[f for f, where in findings if where in (None, name)],
                    plan_kept=kept,
                    approved=plan is not None and plan in approved,
                )
            )
    return records


def plan_findings(state_dir: Path, plan_id) -> tuple[list[tuple[Finding, str | None]], bool | None]:
    """The safety findings of a kept plan, each with its migration's name; and
    whether the plan file is still kept (None when there was no plan)."""
    path = plan_path(state_dir, plan_id) if plan_id else None
    if path is None:
        return [], None
    data = _read_json(path)
    if not isinstance(data, dict):
        return [], False
    safety = ((data.get("plan") or {}).get("display") or {}).get("safety") or {}
    found = []
    for item in safety.get("findings") or []:
        if isinstance(item, dict):
            finding = Finding(
                rule=str(item.get("rule")),
                severity=str(item.get("severity")),
                object=item.get("object"),
                message=str(item.get("message", "")),
            )
            found.append((finding, item.get("migration")))
    return found, True


def tracking_of(config: Config, env: str) -> Tracking:
    """The tracking table as `faber-db status` reads it, or why it could not be read."""
    try:
        result = migration_status(config, env).result
    except FaberError as error:
        return Tracking(reachable=False, detail=f"{error.code}: {error.message}")
    problems = [f"failed: {f.get('name')}" for f in result.get("failed", [])]
    problems += [f"edited after being applied: {n}" for n in result.get("modified", [])]
    problems += [f"not in the directory: {n}" for n in result.get("missing_from_directory", [])]
    return Tracking(
        reachable=True,
        detail=f"{result.get('engine')} {result.get('server_version')} at {result.get('connection')}",
        engine=result.get("engine"),
        applied=list(result.get("applied", [])),
        pending=list(result.get("pending", [])),
        problems=problems,
    )


def merge_tracking(report: EnvironmentReport) -> None:
    """Mark audited migrations the table no longer holds as applied, and add those
    the table holds that no audited `migrate` applied (applied by other tools)."""
    tracking = report.tracking
    if tracking is None or not tracking.reachable:
        return
    applied = set(tracking.applied)
    for record in report.migrations:
        record.state = "applied" if record.name in applied else "not in the tracking table now"
    audited = {r.name for r in report.migrations}
    for name in tracking.applied:
        if name not in audited:
            report.migrations.append(
                MigrationRecord(name=name, applied_at=None, in_audit=False, state="applied")
            )


def state_file(state_dir: Path, kind: str, env: str) -> StateFile | None:
    """<state_dir>/<kind>/<env>.json (health or drift), None when there is none."""
    path = state_dir / kind / f"{env}.json"
    if not path.is_file():
        return None
    data = _read_json(path)
    if not isinstance(data, dict):
        return StateFile(kind, str(path), problem="not a readable JSON object")
    for key in ("checks", "differences"):  # rows the page tabulates: objects only
        rows = data.get(key)
        data[key] = [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []
    return StateFile(kind, str(path), data=data)


def _read_json(path: Path):
    try:
        if path.stat().st_size > STATE_FILE_MAX_BYTES:
            return None
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None


def _text(value) -> str | None:
    """A string field of an audit line (a line of another shape shows nothing)."""
    return value if isinstance(value, str) else None


def _names(value) -> list[str]:
    """A list-of-names field of an audit line."""
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _moment(text):
    try:
        return parse_utc(text) if isinstance(text, str) else None
    except ValueError:
        return None


def _expired(expires_at, now) -> bool:
    moment = _moment(expires_at)
    return moment is not None and moment <= now


def _who(line: dict) -> str:
    agent = line.get("agent_claimed") or line.get("agent")
    return str(line.get("user", "?")) + (f" via {agent} (claimed)" if agent else "")
