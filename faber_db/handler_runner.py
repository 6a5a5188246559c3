"""Run handler scripts (handlers/<engine>/<name>.sh) through `sh`.

The one place where native tools are started: it builds the environment
(secrets only in private files), streams stderr to the log, keeps a redacted
tail for error messages, validates the JSON the script prints, maps failures
to typed errors, and kills the script's whole process group when interrupted.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from faber_db.credentials import known_secrets
from faber_db.engines import install_hint
from faber_db.errors import (
    DiskFullError,
    FaberError,
    OperationInterruptedError,
    ToolFailedError,
    ToolMissingError,
    UnsupportedOptionError,
)
from faber_db.resources import handler_script, validation_errors
from faber_db.urls import redact_text

log = logging.getLogger("faber_db.handler_runner")

# Variables that would leak a password to a child or override our private files.
# Native tools never need the repository's credentials either (backup.remote).
SCRUBBED_VARIABLES = ("PGPASSWORD", "MYSQL_PWD", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
# Tools every engine's handlers may run; each engine names its own (Engine.install_hints).
SHARED_TOOL_HINTS = {
    "zstd": "Install zstd (apt-get install zstd), or pass --compression gzip",
}
DISK_FULL_MARKERS = (
    "no space left on device",
    "disk full",
    "disk is full",
    "errno 28",
    "could not extend file",
)


@dataclass
class HandlerCall:
    """One handler invocation: which script, with what environment."""

    engine: str
    name: str
    env: dict[str, str]
    secrets: list[str] = field(default_factory=list)
    timeout: float | None = None
    pass_fds: tuple[int, ...] = ()


class RunningHandler:
    """A handler started in the background (its own session/process group)."""

    def __init__(self, call: HandlerCall) -> None:
        import sh

        self.call = call
        self.stdout: list[str] = []
        self.finished = threading.Event()
        self.stderr_tail: deque[str] = deque(maxlen=40)
        script = handler_script(call.engine, call.name)
        try:
            command = sh.Command(str(script))
        except sh.CommandNotFound:
            raise ToolMissingError(
                f"Handler script {script} is missing or not executable."
            ) from None
        self.process = command(
            _env=build_environment(call.env, call.secrets),
            _bg=True,
            _bg_exc=False,
            _new_session=True,
            _out=self.stdout.append,
            _err=self._on_stderr,
            _ok_code=list(range(256)),
            _timeout=call.timeout,
            _in=os.devnull,
            _done=lambda *_: self.finished.set(),
            _pass_fds=set(call.pass_fds),
        )

    def _on_stderr(self, line: str) -> None:
        line = redact_text(line.rstrip("\n"), self.call.secrets)
        self.stderr_tail.append(line)
        log.info("%s: %s", self.call.name, line)

    def wait(self, poll: Callable[[], None] | None = None) -> dict:
        """Wait for the script, then return its validated JSON output (or raise)."""
        import sh

        try:
            # Woken the moment the script exits; `poll` runs every 0.2 s meanwhile.
            while not self.finished.wait(0.2):
                if poll:
                    poll()
            self.process.wait()
        except sh.TimeoutException:
            self.kill()
            raise ToolFailedError(
                f"{self.call.name} timed out after {self.call.timeout}s."
            ) from None
        except KeyboardInterrupt:
            self.kill()
            raise OperationInterruptedError(
                f"Interrupted during {self.call.name}; the handler was stopped and its partial output removed."
            ) from None
        return self._result()

    def kill(self) -> None:
        """Stop the script and every tool it started."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            return

    def _result(self) -> dict:
        output = parse_handler_output("".join(self.stdout), self.call.name)
        if output.get("status") == "error":
            raise handler_error(output, list(self.stderr_tail), self.call.name)
        if self.process.exit_code != 0:
            raise ToolFailedError(
                f"{self.call.name} exited with status {self.process.exit_code}.",
                details={"stderr": list(self.stderr_tail)},
            )
        return output


def run_handler(call: HandlerCall, poll: Callable[[], None] | None = None) -> dict:
    """Run a handler to completion and return its validated JSON output."""
    return RunningHandler(call).wait(poll)


def build_environment(extra: dict[str, str], secrets: list[str] | None = None) -> dict[str, str]:
    """The child's environment: ours without password variables (or any variable
    holding one of `secrets`, such as the URL faber-db read it from), plus the call's."""
    secrets = [s for s in [*(secrets or []), *known_secrets()] if s]
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in SCRUBBED_VARIABLES and not any(secret in v for secret in secrets)
    }
    env.update(
        {
            "FABER_PARENT_PID": str(os.getpid()),
            "FABER_PYTHON": sys.executable,
            "LC_MESSAGES": "C",
        }
    )
    env.update(extra)
    return env


def parse_handler_output(text: str, name: str) -> dict:
    """Parse and validate the one JSON object a handler prints."""
    try:
        output = json.loads(text)
    except json.JSONDecodeError:
        raise ToolFailedError(
            f"{name} did not print a JSON result (it may have been killed).",
            details={"stdout": text[-500:]},
        ) from None
    problems = validation_errors(output, "handler-output")
    if problems:
        raise ToolFailedError(f"{name} printed an invalid result: " + "; ".join(problems))
    return output


def handler_error(output: dict, stderr_tail: list[str], name: str) -> FaberError:
    """Map a handler's error object (and its stderr) to a typed FaberError."""
    error = output["error"]
    code, message = error["code"], error["message"]
    tail = "\n".join(stderr_tail[-10:])
    if code == "tool_missing":
        tool = output.get("tool", "")
        hint = install_hint(tool) or SHARED_TOOL_HINTS.get(tool, f"Install {tool}")
        return ToolMissingError(message, suggestions=[hint])
    if code == "unsupported_option":
        return UnsupportedOptionError(message)
    if any(marker in tail.lower() for marker in DISK_FULL_MARKERS):
        return DiskFullError(
            f"The disk filled up during {name}: {message}.",
            suggestions=["Free disk space (faber-db backups prune --yes), then retry"],
            details={"stderr": stderr_tail},
        )
    detail = f": {telling_line(stderr_tail)}" if tail else ""
    return ToolFailedError(f"{message}{detail}", details={"stderr": stderr_tail})


def telling_line(stderr_lines: list[str]) -> str:
    """The stderr line that explains a failure: the last error a tool reported (psql
    follows its ERROR line with CONTEXT and LINE lines), else the last line."""
    for line in reversed(stderr_lines):
        if "ERROR:" in line or "error:" in line:
            return line.strip()
    return stderr_lines[-1].strip()


def handler_paths_env(**paths: Path | str | None) -> dict[str, str]:
    """FABER_<NAME> variables for the given paths/values, skipping None."""
    return {f"FABER_{key.upper()}": str(value) for key, value in paths.items() if value is not None}
