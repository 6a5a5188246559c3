"""The geometry of an environment's timeline chart (inline SVG drawn by the
template): backup sizes and durations as bars, and restores, rollbacks and
migrations as marks on the same time axis. Pure functions, no markup."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from faber_db.human_text import human_duration, human_size
from faber_db.report.model import EnvironmentReport
from faber_db.timeutil import parse_utc, utcnow

WIDTH = 960
LEFT = 104
RIGHT = 44
PANEL_HEIGHT = 90
EVENT_LANE = 34
TICKS = 5
MARK_COLOURS = {"valid": "#2e7d32", "expired": "#9e9e9e"}
PROBLEM_COLOUR = "#c62828"
REMOTE_OK = ("verified", "uploaded", "present", "ok")


@dataclass
class Bar:
    """One bar: position, size, fill and its hover text."""

    x: float
    y: float
    width: float
    height: float
    fill: str
    title: str


@dataclass
class Mark:
    """A small symbol on the axis (remote copy, restore, rollback, migration)."""

    x: float
    y: float
    kind: str
    fill: str
    title: str


@dataclass
class Panel:
    """A bar chart (size or duration) with its top label."""

    title: str
    top: float
    maximum_label: str
    bars: list[Bar] = field(default_factory=list)


@dataclass
class Chart:
    """The whole timeline of one environment."""

    width: int
    height: int
    panels: list[Panel]
    marks: list[Mark]
    ticks: list[tuple[float, str]]
    axis_y: float
    events_y: float
    empty: bool
    left: int = LEFT
    right: int = WIDTH - RIGHT
    panel_height: int = PANEL_HEIGHT


def timeline_chart(env: EnvironmentReport) -> Chart:
    """Size and duration panels over one time axis, with an events lane below."""
    moments = _moments(env)
    start, end = _span(moments)
    scale = _scale(start, end)
    size_panel = Panel("backup size", 10, human_size(_max(b.size_bytes for b in env.backups)))
    duration_panel = Panel(
        "backup duration",
        10 + PANEL_HEIGHT + 20,
        human_duration(_max(b.duration_seconds for b in env.backups)),
    )
    width = _bar_width(len(env.backups))
    _fill(size_panel, env, scale, width, lambda b: b.size_bytes)
    _fill(duration_panel, env, scale, width, lambda b: b.duration_seconds)
    events_y = duration_panel.top + PANEL_HEIGHT + 14
    axis_y = events_y + EVENT_LANE
    marks = _remote_marks(env, scale, size_panel.top) + _event_marks(env, scale, events_y)
    return Chart(
        width=WIDTH,
        height=int(axis_y + 30),
        panels=[size_panel, duration_panel],
        marks=marks,
        ticks=_ticks(start, end, scale),
        axis_y=axis_y,
        events_y=events_y,
        empty=not moments,
    )


def mark_colour(mark: str) -> str:
    """The fill of a backup bar by its mark (valid, expired, anything else)."""
    return MARK_COLOURS.get(mark, PROBLEM_COLOUR)


def _moments(env: EnvironmentReport) -> list[datetime]:
    moments = [b.time for b in env.backups] + [e.time for e in env.events]
    return moments + [m for m in map(_migration_time, env.migrations) if m is not None]


def _migration_time(record) -> datetime | None:
    try:
        return parse_utc(record.applied_at) if record.applied_at else None
    except ValueError:
        return None


def _span(moments: list[datetime]) -> tuple[datetime, datetime]:
    """First and last moment, widened so a single moment sits mid-axis."""
    if not moments:
        moments = [utcnow()]
    start, end = min(moments), max(moments)
    margin = max((end - start) * 0.04, timedelta(minutes=30) if start == end else timedelta(0))
    return start - margin, end + margin


def _scale(start: datetime, end: datetime):
    usable = WIDTH - LEFT - RIGHT
    total = (end - start).total_seconds() or 1.0
    return lambda moment: LEFT + usable * (moment - start).total_seconds() / total


def _bar_width(count: int) -> float:
    usable = WIDTH - LEFT - RIGHT
    return max(3.0, min(18.0, usable / max(count, 1) * 0.6))


def _max(values) -> float:
    return max(values, default=0) or 0


def _fill(panel: Panel, env: EnvironmentReport, scale, width: float, value) -> None:
    """Bars from the panel's baseline up, scaled to the largest value."""
    largest = _max(value(b) for b in env.backups) or 1
    baseline = panel.top + PANEL_HEIGHT
    for backup in env.backups:
        height = max(1.0, PANEL_HEIGHT * value(backup) / largest)
        panel.bars.append(
            Bar(
                x=round(scale(backup.time) - width / 2, 1),
                y=round(baseline - height, 1),
                width=round(width, 1),
                height=round(height, 1),
                fill=mark_colour(backup.mark),
                title=f"{backup.id}: {human_size(backup.size_bytes)} in "
                f"{human_duration(backup.duration_seconds)}, {backup.mark}",
            )
        )


def _remote_marks(env: EnvironmentReport, scale, top: float) -> list[Mark]:
    """A dot above each backup's size bar that has a remote copy (red when not verified)."""
    return [
        Mark(
            x=round(scale(b.time), 1),
            y=top - 4,
            kind="remote",
            fill="#1565c0" if b.remote_status in REMOTE_OK else PROBLEM_COLOUR,
            title=f"{b.id}: remote copy {b.remote_status}",
        )
        for b in env.backups
        if b.remote_status
    ]


def _event_marks(env: EnvironmentReport, scale, lane: float) -> list[Mark]:
    """Restores and rollbacks (triangles) and migrations (diamonds) in the events lane."""
    marks = [
        Mark(
            x=round(scale(e.time), 1),
            y=lane + 8,
            kind=e.operation,
            fill="#6a1b9a" if e.result == "success" else PROBLEM_COLOUR,
            title=f"{e.operation} {e.result} by {e.user}"
            + (f" from {e.backup_id}" if e.backup_id else ""),
        )
        for e in env.events
    ]
    for record in env.migrations:
        moment = _migration_time(record)
        if moment is not None:
            marks.append(
                Mark(
                    x=round(scale(moment), 1),
                    y=lane + 24,
                    kind="migration",
                    fill="#ef6c00",
                    title=f"migration {record.name} by {record.user or '?'}",
                )
            )
    return marks


def _ticks(start: datetime, end: datetime, scale) -> list[tuple[float, str]]:
    step = (end - start) / (TICKS - 1)
    span = end - start
    if span >= timedelta(days=2):
        form = "%Y-%m-%d"
    elif span >= timedelta(hours=2):
        form = "%m-%d %H:%M"
    else:
        form = "%H:%M:%S"
    moments = [start + step * i for i in range(TICKS)]
    return [(round(scale(m), 1), m.strftime(form)) for m in moments]
