"""`faber-db schedule show|install|remove`: the timer that runs `backup --if-due`.

Two kinds: a systemd user timer + service in `$XDG_CONFIG_HOME/systemd/user`
(default ~/.config/systemd/user), checked with `systemd-analyze verify` where it is
installed; or one crontab line per environment, marked with a tag comment so that
install replaces it and remove finds it. faber-db writes the files; it does not
start or stop the user's systemd manager (the result names the two systemctl
commands to run), so a test or a dry run never touches a running system.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from pathlib import Path

from faber_db.backup_manager import scheduler_tools
from faber_db.backup_manager.catalogue import Catalogue
from faber_db.backup_manager.schedule_units import (
    ScheduledJob,
    check_path,
    cron_line,
    service_text,
    timer_text,
    without_env_file,
    without_job_lines,
)
from faber_db.backup_manager.scheduled import newest_valid, schedule_for
from faber_db.config import Config, default_url_variable
from faber_db.errors import ConfigInvalidError, InvalidInputError
from faber_db.fsutil import atomic_write
from faber_db.result import Result
from faber_db.timeutil import format_utc, parse_utc, utcnow


def default_kind() -> str:
    """systemd where systemctl is installed, else cron."""
    return "systemd" if scheduler_tools.available("systemctl") else "cron"


def unit_directory() -> Path:
    """Where systemd looks for the user's own units."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "systemd" / "user"


def scheduled_jobs(config: Config, env: str | None, env_file: Path | None) -> list[ScheduledJob]:
    """The jobs for `env` (or every environment with a backup.schedule)."""
    schedules = config.section("backup").get("schedule") or {}
    names = [env] if env is not None else sorted(schedules)
    if not names:
        raise ConfigInvalidError(
            "No environment has a backup schedule (backup.schedule is empty).",
            suggestions=['Add "backup": {"schedule": {"production": "daily@02:30"}} to the config'],
        )
    root = check_path(config.project_root.resolve(), "The project directory")
    return [_job(config, name, schedule_for(config, name).text, root, env_file) for name in names]


def _job(
    config: Config, env: str, schedule: str, root: Path, env_file: Path | None
) -> ScheduledJob:
    command = [sys.executable, "-m", "faber_db", "backup", env, "--if-due"]
    if config.path is not None and not config.is_own:
        command[3:3] = ["--config", str(check_path(config.path.resolve(), "The config"))]
    check_path(Path(sys.executable), "The Python interpreter")
    log_file = config.state_dir.resolve() / "schedule" / f"{env}.log"
    return ScheduledJob(env, root, tuple(command), env_file, log_file, schedule)


def checked_env_file(path: str | None) -> tuple[Path | None, list[str]]:
    """The --env-file as an absolute path, and warnings about it (never its contents)."""
    if path is None:
        return None, []
    resolved = check_path(Path(path).expanduser().resolve(), "The env file")
    if not resolved.is_file():
        raise InvalidInputError(
            f"--env-file {path}: no such file.",
            suggestions=["Write the variables (NAME=value lines) to a 0600 file, then pass it"],
        )
    if stat.S_IMODE(resolved.stat().st_mode) & 0o077:
        return resolved, [
            f"{resolved} is readable by other users; it holds secrets: chmod 600 {resolved}"
        ]
    return resolved, []


def _variable_warnings(config: Config, jobs: list[ScheduledJob]) -> list[str]:
    warnings = []
    for job in (j for j in jobs if j.env_file is None):
        settings = config.environments.get(job.env, {})
        if not settings.get("default_url"):
            variable = settings.get("connection_string_env") or default_url_variable(job.env)
            warnings.append(
                f"no --env-file: the scheduled run of {job.env} will not have ${variable} "
                "(pass --env-file with the file that sets it)"
            )
    return warnings


def _job_status(config: Config, job: ScheduledJob) -> dict:
    newest = newest_valid(Catalogue.for_config(config).entries(), job.env)
    now = utcnow()
    due = schedule_for(config, job.env).next_due(
        parse_utc(newest.timestamp) if newest else None, now
    )
    return {
        "environment": job.env,
        "schedule": job.schedule,
        "next_due": format_utc(max(due, now)),
        "newest_backup_id": newest.id if newest else None,
        "command": list(job.command),
    }


# -- systemd ----------------------------------------------------------------------------
def systemd_files(job: ScheduledJob) -> dict[Path, str]:
    """The unit files of a job, by their installed path."""
    directory = unit_directory()
    return {
        directory / f"{job.unit_name}.service": service_text(job),
        directory / f"{job.unit_name}.timer": timer_text(job),
    }


def verify_systemd(jobs: list[ScheduledJob]) -> tuple[dict, list[str]]:
    """Verify the jobs' units in a scratch folder: ({"verified_with", "remarks"}, warnings)."""
    if not scheduler_tools.available("systemd-analyze"):
        return {"verified_with": None, "remarks": []}, [
            "systemd-analyze is not installed: the units were not verified"
        ]
    with tempfile.TemporaryDirectory(prefix="faber-db-units-") as scratch:
        paths = []
        for job in jobs:
            for path, text in systemd_files(job).items():
                paths.append(Path(scratch) / path.name)
                paths[-1].write_text(text, encoding="utf-8")
        remarks = scheduler_tools.verify_units(paths)
    return {"verified_with": "systemd-analyze verify", "remarks": remarks}, [
        f"systemd-analyze: {r}" for r in remarks
    ]


def _activation(jobs: list[ScheduledJob], verb: str) -> list[str]:
    timers = " ".join(f"{j.unit_name}.timer" for j in jobs)
    if verb == "enable":
        return ["systemctl --user daemon-reload", f"systemctl --user enable --now {timers}"]
    return [f"systemctl --user disable --now {timers}", "systemctl --user daemon-reload"]


# -- commands ---------------------------------------------------------------------------
def show_schedule(config: Config, env: str | None, kind: str | None) -> Result:
    """`faber-db schedule show [env]`: schedules, next due times, what is installed."""
    kind = kind or default_kind()
    jobs = scheduled_jobs(config, env, None)
    crontab = _crontab_if_readable() if kind == "cron" else None
    entries = []
    for job in jobs:
        entry = _job_status(config, job)
        if kind == "systemd":
            files = systemd_files(job)
            entry["installed"] = _systemd_state(files)
            entry["files"] = {str(p): text for p, text in files.items()}
        else:
            entry["installed"] = _cron_state(crontab, job)
            entry["cron_line"] = cron_line(job)
        entries.append(entry)
    lines = [
        f"{e['environment']}: {e['schedule']}, next due {e['next_due']}, {kind} {e['installed']}"
        for e in entries
    ]
    return Result(
        operation="schedule-show",
        environment=env,
        result={"kind": kind, "jobs": entries},
        message="; ".join(lines),
        warnings=config.warnings,
    )


def _systemd_state(files: dict[Path, str]) -> str:
    present = [p for p in files if p.exists()]
    if not present:
        return "not installed"
    same = all(
        p.exists() and without_env_file(p.read_text(encoding="utf-8")) == without_env_file(t)
        for p, t in files.items()
    )
    return "installed" if same else "installed, differs from what install would write"


def _crontab_if_readable() -> str | None:
    if not scheduler_tools.available("crontab"):
        return None
    return scheduler_tools.read_crontab()


def _cron_state(crontab: str | None, job: ScheduledJob) -> str:
    if crontab is None:
        return "unknown (crontab is not installed)"
    lines = [line for line in crontab.splitlines() if line.endswith(job.cron_tag)]
    if not lines:
        return "not installed"
    same = [without_env_file(line) for line in lines] == [without_env_file(cron_line(job))]
    return "installed" if same else "installed, differs from what install would write"


def install_schedule(
    config: Config, env: str | None, kind: str | None, env_file: str | None, dry_run: bool
) -> Result:
    """`faber-db schedule install [env]`: write the timer (or crontab line) of each job."""
    kind = kind or default_kind()
    path, warnings = checked_env_file(env_file)
    jobs = scheduled_jobs(config, env, path)
    warnings = config.warnings + warnings + _variable_warnings(config, jobs)
    if kind == "systemd":
        return _install_systemd(jobs, env, dry_run, warnings)
    return _install_cron(jobs, env, dry_run, warnings)


def _install_systemd(
    jobs: list[ScheduledJob], env: str | None, dry_run: bool, warnings: list[str]
) -> Result:
    verification, remarks = verify_systemd(jobs)
    files = {str(p): t for job in jobs for p, t in systemd_files(job).items()}
    result = {
        "kind": "systemd",
        "environments": [j.env for j in jobs],
        "files": files,
        "verification": verification,
        "activate": _activation(jobs, "enable"),
    }
    if dry_run:
        return Result(
            operation="schedule-install",
            status="dry_run",
            environment=env,
            result=result,
            message=f"Dry run: would write {len(files)} unit file(s) to {unit_directory()}.",
            warnings=warnings + remarks,
        )
    for name, text in files.items():
        Path(name).parent.mkdir(parents=True, exist_ok=True)
        atomic_write(Path(name), text.encode("utf-8"))
    return Result(
        operation="schedule-install",
        environment=env,
        result=result,
        message=(
            f"Wrote {len(files)} unit file(s) to {unit_directory()}. Start the timer(s): "
            + " && ".join(result["activate"])
        ),
        warnings=warnings + remarks,
        suggestions=result["activate"],
    )


def _install_cron(
    jobs: list[ScheduledJob], env: str | None, dry_run: bool, warnings: list[str]
) -> Result:
    lines = [cron_line(job) for job in jobs]
    result = {"kind": "cron", "environments": [j.env for j in jobs], "cron_lines": lines}
    if dry_run:
        return Result(
            operation="schedule-install",
            status="dry_run",
            environment=env,
            result=result,
            message=f"Dry run: would add {len(lines)} line(s) to your crontab.",
            warnings=warnings,
        )
    current = scheduler_tools.read_crontab()
    kept = current.splitlines()
    for job in jobs:
        kept = without_job_lines("\n".join(kept), job)
    scheduler_tools.write_crontab("\n".join(kept + lines) + "\n")
    return Result(
        operation="schedule-install",
        environment=env,
        result=result,
        message=f"Added {len(lines)} line(s) to your crontab (crontab -l shows them).",
        warnings=warnings,
    )


def remove_schedule(config: Config, env: str | None, kind: str | None, dry_run: bool) -> Result:
    """`faber-db schedule remove [env]`: delete the timer files (or crontab lines)."""
    kind = kind or default_kind()
    jobs = scheduled_jobs(config, env, None)
    if kind == "systemd":
        return _remove_systemd(jobs, env, dry_run)
    return _remove_cron(jobs, env, dry_run)


def _remove_systemd(jobs: list[ScheduledJob], env: str | None, dry_run: bool) -> Result:
    directory = unit_directory()
    candidates = []
    for job in jobs:
        candidates += list(systemd_files(job))
        candidates.append(directory / "timers.target.wants" / f"{job.unit_name}.timer")
    present = [p for p in candidates if p.is_symlink() or p.exists()]
    if not dry_run:
        for path in present:
            path.unlink()
    verb = "Would remove" if dry_run else "Removed"
    return Result(
        operation="schedule-remove",
        status="dry_run" if dry_run else "success",
        environment=env,
        result={
            "kind": "systemd",
            "environments": [j.env for j in jobs],
            "removed": [str(p) for p in present],
        },
        message=f"{verb} {len(present)} file(s) from {directory}."
        + (
            ""
            if dry_run or not present
            else " Stop the timer(s) systemd still has loaded: "
            + " && ".join(_activation(jobs, "disable"))
        ),
        suggestions=_activation(jobs, "disable") if present and not dry_run else [],
    )


def _remove_cron(jobs: list[ScheduledJob], env: str | None, dry_run: bool) -> Result:
    current = (
        scheduler_tools.read_crontab()
        if not dry_run or scheduler_tools.available("crontab")
        else ""
    )
    kept = current.splitlines()
    for job in jobs:
        kept = without_job_lines("\n".join(kept), job)
    removed = [line for line in current.splitlines() if line not in kept]
    if removed and not dry_run:
        scheduler_tools.write_crontab("\n".join(kept) + ("\n" if kept else ""))
    verb = "Would remove" if dry_run else "Removed"
    return Result(
        operation="schedule-remove",
        status="dry_run" if dry_run else "success",
        environment=env,
        result={"kind": "cron", "environments": [j.env for j in jobs], "removed": removed},
        message=f"{verb} {len(removed)} line(s) from your crontab.",
    )
