"""Small text helpers shared by rendering and error messages."""

from __future__ import annotations


def first_line(text: str, default: str = "unknown error") -> str:
    """The first non-empty line of a message, stripped."""
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return default


def human_size(size: int | float | None) -> str:
    """1536 -> '1.5 KiB'."""
    if size is None:
        return "?"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def human_duration(seconds: float | None) -> str:
    """75.2 -> '1m 15s'."""
    if seconds is None:
        return "?"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"
