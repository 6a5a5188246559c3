"""`backup.schedule.<env>`: parse a schedule and decide when a backup is due.

Pure logic, unit-tested without files. Two kinds of schedule:

- an interval since the newest valid backup: `hourly` (1h), `daily` (1d),
  `weekly` (7d), or `<n>m` / `<n>h` / `<n>d` (`30m`, `6h`, `2d`);
- a time of day in UTC: `daily@02:30` (every day at 02:30) or `weekly@02:30`
  (every Monday at 02:30): a backup is due once a slot has passed that no backup
  was taken at or after.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from faber_db.errors import ConfigInvalidError

NAMED_INTERVALS = {
    "hourly": timedelta(hours=1),
    "daily": timedelta(days=1),
    "weekly": timedelta(days=7),
}
UNITS = {"m": "minutes", "h": "hours", "d": "days"}
INTERVAL_RE = re.compile(r"^([1-9][0-9]{0,4})([mhd])$")
SLOT_RE = re.compile(r"^(daily|weekly)@([01][0-9]|2[0-3]):([0-5][0-9])$")
MINIMUM_INTERVAL = timedelta(minutes=5)
MAXIMUM_INTERVAL = timedelta(days=366)
FORMS = (
    "hourly, daily, weekly, an interval such as 30m, 6h or 2d, daily@HH:MM or weekly@HH:MM (UTC)"
)


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule: `interval` between backups, or a time-of-day slot
    (`slot_period` of 1 or 7 days, at `slot_time` past midnight UTC; weekly on Mondays)."""

    text: str
    interval: timedelta | None = None
    slot_period: timedelta | None = None
    slot_time: timedelta | None = None

    def next_due(self, newest: datetime | None, now: datetime) -> datetime:
        """When the next backup falls due, given the newest valid backup's time
        (None: no backup yet, due now). A time at or before `now` means due now."""
        if newest is None:
            return now
        if self.interval is not None:
            return newest + self.interval
        slot = self.last_slot(now)
        return slot if newest < slot else slot + self.slot_period

    def is_due(self, newest: datetime | None, now: datetime) -> bool:
        """True when a backup should be taken now."""
        return self.next_due(newest, now) <= now

    def last_slot(self, now: datetime) -> datetime:
        """The latest slot at or before `now` (time-of-day schedules only)."""
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        if self.slot_period == timedelta(days=7):
            midnight -= timedelta(days=midnight.weekday())  # Monday
        slot = midnight + self.slot_time
        while slot > now:
            slot -= self.slot_period
        return slot


def parse_schedule(text: object, env: str = "<env>") -> Schedule:
    """Parse one `backup.schedule.<env>` value; ConfigInvalidError when it is not one."""
    if not isinstance(text, str):
        raise _invalid(text, env)
    value = text.strip().lower()
    if value in NAMED_INTERVALS:
        return Schedule(value, interval=NAMED_INTERVALS[value])
    if match := INTERVAL_RE.match(value):
        interval = timedelta(**{UNITS[match.group(2)]: int(match.group(1))})
        if not MINIMUM_INTERVAL <= interval <= MAXIMUM_INTERVAL:
            raise _invalid(text, env, "an interval from 5m to 366d")
        return Schedule(value, interval=interval)
    if match := SLOT_RE.match(value):
        period = timedelta(days=1 if match.group(1) == "daily" else 7)
        at = timedelta(hours=int(match.group(2)), minutes=int(match.group(3)))
        return Schedule(value, slot_period=period, slot_time=at)
    raise _invalid(text, env)


def _invalid(text: object, env: str, expected: str = FORMS) -> ConfigInvalidError:
    return ConfigInvalidError(
        f"backup.schedule.{env} is {text!r}; expected {expected}.",
        suggestions=[f'Set "backup": {{"schedule": {{"{env}": "daily@02:30"}}}} in the config'],
    )
