"""backup.schedule parsing and the due decision (pure)."""

from datetime import datetime, timedelta, timezone

import pytest

from faber_db.backup_manager.schedule import parse_schedule
from faber_db.errors import ConfigInvalidError


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("text", "interval"),
    [
        ("hourly", timedelta(hours=1)),
        ("daily", timedelta(days=1)),
        ("weekly", timedelta(days=7)),
        ("30m", timedelta(minutes=30)),
        ("6h", timedelta(hours=6)),
        ("2d", timedelta(days=2)),
        (" 6H ", timedelta(hours=6)),
    ],
)
def test_intervals(text, interval):
    schedule = parse_schedule(text)
    assert schedule.interval == interval
    newest = at("2026-12-01 10:00")
    assert schedule.next_due(newest, newest) == newest + interval
    assert not schedule.is_due(newest, newest + interval - timedelta(seconds=1))
    assert schedule.is_due(newest, newest + interval)


@pytest.mark.parametrize(
    "text", ["", "0h", "4m", "367d", "6x", "daily@24:00", "daily@2:30", "monthly", "h", None, 6]
)
def test_invalid_schedules_are_config_errors(text):
    with pytest.raises(ConfigInvalidError) as caught:
        parse_schedule(text, "production")
    assert "backup.schedule.production" in caught.value.message


def test_no_backup_yet_is_due_now():
    now = at("2026-12-01 10:00")
    for text in ("hourly", "daily@02:30", "weekly@02:30"):
        assert parse_schedule(text).is_due(None, now)


def test_daily_at_a_time_of_day():
    schedule = parse_schedule("daily@02:30")
    # Newest backup yesterday 02:31: today's 02:30 slot has no backup after it.
    assert schedule.is_due(at("2026-12-01 02:31"), at("2026-12-02 02:30"))
    assert not schedule.is_due(at("2026-12-01 02:31"), at("2026-12-02 02:29"))
    assert schedule.next_due(at("2026-12-01 02:31"), at("2026-12-02 02:29")) == at(
        "2026-12-02 02:30"
    )
    # Taken at 02:35 today: next one tomorrow at 02:30, not 24h after.
    assert schedule.next_due(at("2026-12-02 02:35"), at("2026-12-02 09:00")) == at(
        "2026-12-03 02:30"
    )
    # A missed slot (machine off) is caught up as soon as it runs again.
    assert schedule.is_due(at("2026-11-20 02:30"), at("2026-12-02 01:00"))


def test_weekly_at_a_time_of_day_is_on_mondays():
    schedule = parse_schedule("weekly@02:30")
    assert at("2026-11-30 00:00").weekday() == 0  # a Monday
    wednesday = at("2026-12-02 12:00")
    assert schedule.last_slot(wednesday) == at("2026-11-30 02:30")
    assert schedule.next_due(at("2026-11-30 03:00"), wednesday) == at("2026-12-07 02:30")
    assert schedule.is_due(at("2026-11-29 23:00"), wednesday)
    # Monday before 02:30 belongs to the previous week's slot.
    assert schedule.last_slot(at("2026-11-30 02:00")) == at("2026-11-23 02:30")
