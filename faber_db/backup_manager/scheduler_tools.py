"""The system's scheduler tools (`crontab`, `systemd-analyze`), run through `sh`.

They are not database tools (those run only inside handlers/<engine>/*.sh); this is
the one place faber-db starts them, with a timeout, and maps their failures to
typed errors. Nothing secret is passed to them: a crontab line and unit files name
the env file, never its contents.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from faber_db.errors import ToolFailedError, ToolMissingError

TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class ToolRun:
    """What one tool run printed and returned."""

    exit_code: int
    stdout: str
    stderr: str


def available(tool: str) -> bool:
    """True when `tool` is on PATH."""
    return shutil.which(tool) is not None


def run_tool(tool: str, args: list[str], stdin: str | None = None) -> ToolRun:
    """Run `tool args` (any exit code accepted); ToolMissingError / ToolFailedError
    when it is not installed or does not finish within TIMEOUT_SECONDS."""
    import sh

    try:
        command = sh.Command(tool)
    except sh.CommandNotFound:
        raise ToolMissingError(
            f"{tool} is not installed.", suggestions=[INSTALL_HINTS.get(tool, f"Install {tool}")]
        ) from None
    try:
        done = command(
            *args,
            _in=stdin if stdin is not None else "",
            _ok_code=list(range(256)),
            _timeout=TIMEOUT_SECONDS,
            _encoding="utf-8",
            _decode_errors="replace",
            _return_cmd=True,
        )
    except sh.TimeoutException:
        raise ToolFailedError(f"{tool} did not finish within {TIMEOUT_SECONDS}s.") from None
    return ToolRun(done.exit_code, str(done.stdout), str(done.stderr))


def read_crontab() -> str:
    """The user's crontab ("" when they have none)."""
    run = run_tool("crontab", ["-l"])
    if run.exit_code == 0:
        return run.stdout
    if "no crontab" in run.stderr.lower():
        return ""
    raise ToolFailedError(f"crontab -l failed: {run.stderr.strip() or run.exit_code}")


def write_crontab(text: str) -> None:
    """Replace the user's crontab with `text` (crontab -)."""
    run = run_tool("crontab", ["-"], stdin=text)
    if run.exit_code != 0:
        raise ToolFailedError(f"crontab - refused the new crontab: {run.stderr.strip()}")


def verify_units(paths: list[Path]) -> list[str]:
    """`systemd-analyze verify` the unit files; returns what it reported about them
    (empty: clean). ToolFailedError when it rejects them."""
    run = run_tool("systemd-analyze", ["verify", *map(str, paths)])
    names = [p.name for p in paths]
    remarks = [line for line in run.stderr.splitlines() if any(n in line for n in names)]
    if run.exit_code != 0:
        raise ToolFailedError(
            "systemd-analyze verify rejected the generated units: "
            + "; ".join(remarks or [run.stderr.strip()]),
            details={"stderr": run.stderr.splitlines()[-20:]},
        )
    return remarks


INSTALL_HINTS = {
    "crontab": "Install cron (apt-get install cron), or use --systemd",
    "systemd-analyze": "Install systemd, or use --cron",
}
