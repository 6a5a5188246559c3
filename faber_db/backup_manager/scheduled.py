"""`faber-db backup <env> --if-due`: a backup only when the schedule says one is due.

Safe to run every few minutes from any scheduler, on several machines sharing the
project folder: the decision is taken under a file lock in the state directory
(`state/schedule/<env>.lock`) after re-reading the catalogue, so two runs racing for
one due backup take one. A run that finds the lock held leaves the backup to the
run that holds it.

With a remote repository (`backup.remote`), machines that share no folder share the
repository: the repository's backups count as the newest, and the due slot (the
moment the backup fell due) is claimed with a conditional write
(`<prefix>/<env>/.claims/due-<slot>`), so of two machines racing for one slot only
the first backs up.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

from faber_db.backup_manager.catalogue import BackupEntry, Catalogue
from faber_db.backup_manager.create import BackupOptions
from faber_db.backup_manager.schedule import Schedule, parse_schedule
from faber_db.config import Config, check_environment_name, unknown_environment
from faber_db.errors import ConfigInvalidError, FaberError
from faber_db.fsutil import atomic_write
from faber_db.result import Progress, Result
from faber_db.timeutil import format_utc, parse_utc, utcnow

NOTIFY_REPEAT = timedelta(hours=1)


def schedule_for(config: Config, env: str) -> Schedule:
    """The environment's parsed `backup.schedule.<env>`; ConfigInvalidError when unset."""
    check_environment_name(env)
    if env not in config.environments:
        raise unknown_environment(env, sorted(config.environments))
    schedules = config.section("backup").get("schedule") or {}
    if env not in schedules:
        raise ConfigInvalidError(
            f"{env} has no backup schedule (backup.schedule.{env} is not set).",
            suggestions=[
                f'Add "backup": {{"schedule": {{"{env}": "daily@02:30"}}}} to the config',
                f"faber-db backup {env}  (a backup now, without a schedule)",
            ],
        )
    return parse_schedule(schedules[env], env)


def newest_valid(entries: list[BackupEntry], env: str) -> BackupEntry | None:
    """The environment's newest valid backup, whatever its reason."""
    valid = [e for e in entries if e.environment == env and e.status == "valid"]
    return max(valid, key=lambda e: (e.timestamp, e.id), default=None)


def backup_if_due(
    config: Config, env: str, options: BackupOptions, progress: Progress | None = None
) -> Result:
    """Take a backup of `env` if its schedule says one is due; else say when it is."""
    schedule = schedule_for(config, env)
    with _decision_lock(config.state_dir / "schedule" / f"{env}.lock") as held:
        if not held:
            return _not_due(env, schedule, None, None, "another faber-db run is taking it now")
        entries = Catalogue.for_config(config).entries()
        entries += _repository_entries(config, entries, env)
        newest = newest_valid(entries, env)
        newest_time = parse_utc(newest.timestamp) if newest else None
        now = utcnow()
        if not schedule.is_due(newest_time, now):
            return _not_due(env, schedule, newest, schedule.next_due(newest_time, now), None)
        due_at = schedule.next_due(newest_time, now) if newest_time else None
        if not _claim_due_slot(config, env, due_at, now):
            busy = "another machine sharing the remote repository is taking it"
            return _not_due(env, schedule, newest, None, busy)
        state = config.state_dir / "schedule" / f"{env}.json"
        try:
            result = _take_due_backup(config, env, schedule, options, progress)
        except FaberError as error:
            error.details["result"] = {"due": True, "schedule": schedule.text} | failure_streak(
                state, error.code, now
            )
            raise
        state.unlink(missing_ok=True)  # the failure streak, if any, is over
        return result


def _repository_entries(config: Config, local: list[BackupEntry], env: str) -> list[BackupEntry]:
    """The remote repository's backups of env this machine does not have (none without
    a repository): another machine's backup makes this one not due."""
    from faber_db.backup_manager.remote.settings import remote_settings

    if remote_settings(config) is None:
        return []
    from faber_db.backup_manager.remote.fetch import remote_only_entries

    found, _ = remote_only_entries(config, local, env)
    return found


def _claim_due_slot(config: Config, env: str, due_at: datetime | None, now: datetime) -> bool:
    """Claim the slot that fell due at due_at (None: the first backup) in the remote
    repository (True without one): False when another machine claimed it first. A
    claim holds for the hour it was made in, so a machine that died after claiming
    does not keep the others from the backup for longer than that."""
    from faber_db.backup_manager.remote.settings import remote_settings

    settings = remote_settings(config)
    if settings is None:
        return True
    from faber_db.backup_manager.remote.client import make_client
    from faber_db.backup_manager.remote.publish import claim_token
    from faber_db.backup_manager.remote.repository import claim_id

    fell_due = due_at.strftime("%Y%m%dT%H%M%SZ") if due_at else "first"
    slot = f"due-{fell_due}-{now.strftime('%Y%m%dT%H')}"
    return claim_id(make_client(settings), settings, env, slot, claim_token(config))


def failure_streak(path: Path, code: str, now: datetime) -> dict:
    """Count a failed due backup in `path`; returns `consecutive_failures`,
    `failing_since` and `notify` (False while the streak was already reported less
    than NOTIFY_REPEAT ago: a timer retrying every 5 minutes must not send a message
    every 5 minutes)."""
    try:
        streak = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        streak = {}
    if not isinstance(streak, dict) or not isinstance(streak.get("failing_since"), str):
        streak = {"failing_since": format_utc(now), "consecutive_failures": 0}
    count = streak.get("consecutive_failures")
    streak["consecutive_failures"] = (count if isinstance(count, int) else 0) + 1
    notify = _notified_before(streak.get("notified_at")) <= now - NOTIFY_REPEAT
    if notify:
        streak["notified_at"] = format_utc(now)
    streak["last_error_code"] = code
    try:
        atomic_write(path, json.dumps(streak).encode())
    except OSError:
        notify = True  # no memory of the streak: better a repeated message than none
    return {
        "consecutive_failures": streak["consecutive_failures"],
        "failing_since": streak["failing_since"],
        "notify": notify,
    }


def _take_due_backup(
    config: Config, env: str, schedule: Schedule, options: BackupOptions, progress
) -> Result:
    from faber_db.backup_manager.manager import create_backup, delete_expired

    result = create_backup(config, env, options, progress)
    taken = parse_utc(result.result["timestamp"])
    result.result.update(
        due=True,
        schedule=schedule.text,
        next_due=format_utc(schedule.next_due(taken, max(taken, utcnow()))),
        pruned=[],
    )
    if config.section("backup").get("auto_cleanup") is True:
        pruned, warnings = delete_expired(config, env)
        result.result["pruned"] = pruned
        result.warnings += warnings
        if pruned:
            result.message += f" Pruned {len(pruned)} expired backup(s) (backup.auto_cleanup)."
    return result


def _not_due(
    env: str,
    schedule: Schedule,
    newest: BackupEntry | None,
    next_due: datetime | None,
    busy: str | None,
) -> Result:
    due_text = format_utc(next_due) if next_due else None
    message = (
        f"Backup of {env} not due until {due_text} (schedule {schedule.text}; newest valid "
        f"backup {newest.id})."
        if busy is None
        else f"Backup of {env} not taken here: {busy}."
    )
    return Result(
        operation="backup",
        environment=env,
        result={
            "due": False,
            "schedule": schedule.text,
            "next_due": due_text,
            "newest_backup_id": newest.id if newest else None,
            "newest_backup_at": newest.timestamp if newest else None,
            "in_progress_elsewhere": busy is not None,
        },
        message=message,
    )


def _notified_before(stamp: object) -> datetime:
    """When the streak was last reported (long ago when never, or unreadable)."""
    try:
        return (
            parse_utc(stamp)
            if isinstance(stamp, str)
            else datetime.min.replace(tzinfo=timezone.utc)
        )
    except ValueError:
        return datetime.min.replace(tzinfo=timezone.utc)


@contextmanager
def _decision_lock(path: Path) -> Iterator[bool]:
    """Hold an exclusive flock on `path` if it is free: yields True when held, False
    when another run holds it (that run is deciding, or backing up, for us)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES):
                raise
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
