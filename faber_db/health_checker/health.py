"""`faber-db health <env>`: run the checks (checks.py), build one report, keep it in
<state_dir>/health/<env>.json for other tools, and answer with exit 0 or 23.

`migrate` runs the quick set first when safety.health_check_before_deploy is true
(pre_deploy_check): no drift unless safety.drift_check_before_deploy, no checksum
reading, no migrations check (migrate checks its history itself, under its lock).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from faber_db.config import Config
from faber_db.engines import engine_for
from faber_db.errors import CatalogueCorruptError, FaberError, HealthFailedError
from faber_db.exit_codes import ExitStatus
from faber_db.fsutil import atomic_write
from faber_db.health_checker import checks as c
from faber_db.health_checker.checks import FAIL, OK, WARN, Check, HealthContext
from faber_db.result import Result
from faber_db.timeutil import format_utc, utcnow


@dataclass
class HealthOptions:
    """Which checks to run."""

    drift: bool = True
    deep: bool = False
    migrations: bool = True


def run_health(config: Config, env: str, options: HealthOptions | None = None) -> Result:
    """`faber-db health <env>`: the report as a Result (exit 23 when a check fails)."""
    options = options or HealthOptions()
    warnings = list(config.warnings)
    report = health_report(config, env, options, warnings)
    failing = [ch for ch in report["checks"] if ch["status"] == FAIL]
    fixes = list(dict.fromkeys(ch["fix"] for ch in report["checks"] if ch["fix"]))
    result = Result(
        operation="health",
        environment=env,
        result=report,
        message=report_message(env, report),
        warnings=warnings,
        suggestions=fixes,
    )
    if failing:
        result.status = "error"
        result.error = {"code": HealthFailedError.code, "message": result.message}
        result.exit_status = ExitStatus.HEALTH_FAILED
    return result


def pre_deploy_check(config: Config, env: str, warnings: list[str]) -> dict:
    """The quick checks `migrate` runs first; HealthFailedError (with the report in
    details["result"]["health"]) when one fails, else the report."""
    drift = bool(config.section("safety").get("drift_check_before_deploy", False))
    report = health_report(config, env, HealthOptions(drift=drift, migrations=False), warnings)
    failing = [ch for ch in report["checks"] if ch["status"] == FAIL]
    if failing:
        names = ", ".join(ch["name"] for ch in failing)
        raise HealthFailedError(
            f"The health check before deploying {env} failed ({names}); nothing was changed.",
            suggestions=[ch["fix"] for ch in failing if ch["fix"]] + [f"faber-db health {env}"],
            details={"result": {"health": report}},
        )
    return report


def health_report(config: Config, env: str, options: HealthOptions, warnings: list[str]) -> dict:
    """Run the checks and keep the report in the state dir (a failure to: a warning)."""
    started = time.monotonic()
    target = config.resolve(env)
    ctx = HealthContext(config, target, engine_for(target.conn), deep=options.deep)
    try:
        backups, catalogue_check = ctx.valid_backups(), None
    except CatalogueCorruptError as error:
        backups, catalogue_check = [], c.unreadable_catalogue(error)
    checks = _server_checks(ctx, options, backups)
    checks += [catalogue_check] if catalogue_check else _backup_checks(ctx, backups)
    report = {
        "environment": env,
        "checked_at": format_utc(utcnow()),
        "status": overall_status(checks),
        "checks": [ch.to_dict() for ch in checks],
        "drift_checked": options.drift and ctx.db is not None,
        "deep": options.deep,
        "duration_seconds": round(time.monotonic() - started, 3),
    }
    try:
        write_state(config, report)
    except OSError as exc:
        warnings.append(f"could not keep the health report in {config.state_dir}: {exc}")
    return report


def _server_checks(ctx: HealthContext, options: HealthOptions, backups: list) -> list[Check]:
    """The checks that need the connection (only `connection` when it fails)."""
    started = time.monotonic()
    try:
        ctx.db = ctx.engine.connect()
    except FaberError as error:
        return [c.connection_failed(ctx, error)]
    try:
        out = [_guarded("connection", c.check_connection, ctx, time.monotonic() - started)]
        version = _guarded("server_version", _read_version, ctx)
        out += [version, _guarded("backup_tools", c.check_backup_tools, ctx)]
        if options.migrations:
            out.append(_guarded("migrations", c.check_migrations, ctx))
        if options.drift:
            out.append(_guarded("drift", c.check_drift, ctx))
        out += [
            _guarded("disk_space", c.check_disk_space, ctx),
            _guarded("blockers", c.check_blockers, ctx),
            _guarded("size", c.check_size, ctx, backups),
        ]
        return out
    finally:
        ctx.engine.abandon(ctx.db)


def _read_version(ctx: HealthContext) -> Check:
    ctx.server_version = ctx.engine.server_version(ctx.db)
    return c.check_server_version(ctx)


def _backup_checks(ctx: HealthContext, backups: list) -> list[Check]:
    """Age, files and remote copy of the environment's valid backups (newest first)."""
    out = [
        _guarded("backup_age", c.check_backup_age, ctx, backups),
        _guarded("backup_files", c.check_backup_files, ctx, backups),
    ]
    remote = _guarded("backup_remote", c.check_backup_remote, ctx, backups[0]) if backups else None
    return out + ([remote] if remote is not None else [])


def _guarded(name: str, check: Callable[..., Check | None], ctx: HealthContext, *args):
    """Run one check; an error it raises becomes that check's failure."""
    try:
        return check(ctx, *args)
    except FaberError as error:
        fix = error.suggestions[0] if error.suggestions else f"faber-db status {ctx.env}"
        return Check(name, FAIL, error.message, fix.replace("<env>", ctx.env))
    except (*ctx.engine.error_types, OSError) as exc:
        _, message = (
            ctx.engine.describe_error(exc) if not isinstance(exc, OSError) else (None, str(exc))
        )
        return Check(name, FAIL, f"could not check: {message}", f"faber-db health {ctx.env}")


def overall_status(checks: list[Check]) -> str:
    """fail if any check fails, else warn if any warns, else ok."""
    statuses = {ch.status for ch in checks}
    return FAIL if FAIL in statuses else WARN if WARN in statuses else OK


def report_message(env: str, report: dict) -> str:
    """One sentence: the verdict and which checks need attention."""
    by_status: dict[str, list[str]] = {OK: [], WARN: [], FAIL: []}
    for ch in report["checks"]:
        by_status[ch["status"]].append(ch["name"])
    if by_status[FAIL]:
        return f"{env}: health check failed: {', '.join(by_status[FAIL])}" + (
            f" (warnings: {', '.join(by_status[WARN])})." if by_status[WARN] else "."
        )
    if by_status[WARN]:
        return f"{env}: nothing fails; warnings: {', '.join(by_status[WARN])}."
    return f"{env} is healthy: {len(by_status[OK])} checks ok."


def state_path(config: Config, env: str):
    """<state_dir>/health/<env>.json"""
    return config.state_dir / "health" / f"{env}.json"


def write_state(config: Config, report: dict) -> None:
    """Write the shared shape {environment, checked_at, status, checks[name, status,
    detail, fix]} atomically (other tools read it)."""
    shared = {
        "environment": report["environment"],
        "checked_at": report["checked_at"],
        "status": report["status"],
        "checks": [
            {k: ch[k] for k in ("name", "status", "detail", "fix")} for ch in report["checks"]
        ],
    }
    path = state_path(config, report["environment"])
    atomic_write(path, (json.dumps(shared, indent=2) + "\n").encode())
