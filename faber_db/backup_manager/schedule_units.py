"""What `faber-db schedule install` writes: a systemd user timer and service, or a
crontab line. Pure text generation, unit-tested.

Each runs `faber-db backup <env> --if-due` in the project directory every
POLL_MINUTES minutes; whether a backup is due is faber-db's decision (the
schedule lives in the config, not in the timer), so changing `backup.schedule`
needs no reinstall. The environment's variables come from a file the person
names (EnvironmentFile=, or `. FILE` in cron): the file is referenced, its
contents are never copied into what is written here.
"""

from __future__ import annotations

import hashlib
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from faber_db.errors import InvalidInputError

POLL_MINUTES = 5
CRON_MARKER = "# faber-db-schedule"
UNSAFE_PATH_RE = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class ScheduledJob:
    """One environment's scheduled backup: where, what, with which variables."""

    env: str
    project_root: Path
    command: tuple[str, ...]  # the argv, from the interpreter to --if-due
    env_file: Path | None
    log_file: Path  # cron only: systemd logs to the journal
    schedule: str

    @property
    def unit_name(self) -> str:
        """faber-db-backup-<project>-<hash>-<env>: unique per project directory."""
        slug = re.sub(r"[^a-z0-9]+", "-", self.project_root.name.lower()).strip("-")[:32]
        digest = hashlib.sha256(str(self.project_root).encode()).hexdigest()[:8]
        return f"faber-db-backup-{slug or 'project'}-{digest}-{self.env}"

    @property
    def cron_tag(self) -> str:
        """The comment that marks this job's crontab line (for show and remove)."""
        return f"{CRON_MARKER} {self.unit_name}"


def check_path(path: Path, what: str) -> Path:
    """Refuse a path with control characters (a newline would end the unit's line)."""
    if UNSAFE_PATH_RE.search(str(path)):
        raise InvalidInputError(f"{what} {str(path)!r} holds a control character; move it.")
    return path


def _systemd_escape(text: str) -> str:
    """A value for a unit file: % is systemd's specifier, $ its variable expansion."""
    return text.replace("%", "%%")


def _systemd_word(word: str) -> str:
    """One ExecStart= argument, double-quoted when it needs to be."""
    word = _systemd_escape(word).replace("$", "$$")
    if re.fullmatch(r"[A-Za-z0-9_@%+=:,./-]+", word):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def service_text(job: ScheduledJob) -> str:
    """The .service unit: one `faber-db backup <env> --if-due` run."""
    lines = [
        "[Unit]",
        f"Description=faber-db: backup of {job.env} if due ({_systemd_escape(job.schedule)})",
        "After=network-online.target",
        "",
        "[Service]",
        "Type=oneshot",
        f"WorkingDirectory={_systemd_escape(str(job.project_root))}",
    ]
    if job.env_file is not None:
        lines.append(f"EnvironmentFile={_systemd_escape(str(job.env_file))}")
    lines += [
        "ExecStart=" + " ".join(_systemd_word(w) for w in job.command),
        "Nice=10",
        "IOSchedulingClass=idle",
        "",
    ]
    return "\n".join(lines)


def timer_text(job: ScheduledJob) -> str:
    """The .timer unit: start the service every POLL_MINUTES minutes (and after a
    boot that missed a run: Persistent=true)."""
    return "\n".join(
        [
            "[Unit]",
            f"Description=faber-db: check every {POLL_MINUTES} min whether {job.env} needs a backup",
            "",
            "[Timer]",
            f"OnCalendar=*:0/{POLL_MINUTES}",
            "Persistent=true",
            "RandomizedDelaySec=30",
            f"Unit={job.unit_name}.service",
            "",
            "[Install]",
            "WantedBy=timers.target",
            "",
        ]
    )


def cron_line(job: ScheduledJob) -> str:
    """The crontab line: every POLL_MINUTES minutes, in the project directory, with
    the env file's variables exported (set -a), output appended to the log."""
    steps = [
        f"cd {shlex.quote(str(job.project_root))}",
        f"mkdir -p {shlex.quote(str(job.log_file.parent))}",
    ]
    if job.env_file is not None:
        steps.append(f"set -a && . {shlex.quote(str(job.env_file))} && set +a")
    steps.append(f"exec {shlex.join(job.command)} >>{shlex.quote(str(job.log_file))} 2>&1")
    command = " && ".join(steps).replace("%", "\\%")  # % ends a cron command
    return f"*/{POLL_MINUTES} * * * * {command} {job.cron_tag}"


def without_job_lines(crontab: str, job: ScheduledJob) -> list[str]:
    """The crontab's lines minus this job's (matched by its tag)."""
    return [line for line in crontab.splitlines() if not line.endswith(job.cron_tag)]


def without_env_file(text: str) -> str:
    """A unit or crontab line minus its env file reference (show compares what is
    installed with what install would write, whichever file was named)."""
    text = re.sub(r"(?m)^EnvironmentFile=.*\n", "", text)
    return re.sub(r"set -a && \. .*? && set \+a && ", "", text)
