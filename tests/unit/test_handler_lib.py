"""handlers/lib/common.sh: the JSON the handlers print stays valid whatever a tool
wrote to its stderr (ANSI escapes, other control characters)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

from support import REPO_ROOT, skip_outside_ci

COMMON = REPO_ROOT / "handlers" / "lib" / "common.sh"
# Every character JSON forbids raw, DEL, and the characters escaped by name.
EVERY_CONTROL = "".join(chr(code) for code in range(1, 0x20)) + '\x7f \\ " / & é ✓'


def bash(script: str, **env: str) -> subprocess.CompletedProcess:
    """Run `script` in bash with common.sh sourced; extra environment in `env`."""
    return subprocess.run(
        ["bash", "-c", f'source "$COMMON"\n{script}'],
        env={**os.environ, "COMMON": str(COMMON), "LC_ALL": "C.UTF-8", **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_json_string_escapes_every_control_character():
    result = bash('json_string "$MSG"', MSG=EVERY_CONTROL)
    assert result.returncode == 0, result.stderr
    assert all(ord(c) >= 0x20 for c in result.stdout)  # nothing raw left in the literal
    assert json.loads(result.stdout) == EVERY_CONTROL


def test_emit_json_round_trips_strings_and_raw_values():
    result = bash('emit_json status s success detail s "$MSG" size_bytes r 42', MSG=EVERY_CONTROL)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "status": "success",
        "detail": EVERY_CONTROL,
        "size_bytes": 42,
    }


def test_fail_keeps_the_tool_message_intact():
    stderr = "\x1b[31mpg_dump: error:\x1b[0m connection refused\x07\r\n\tretry\x0b\x0c\x1f"
    result = bash(
        'fail tool_failed "$MSG" tool s "$TOOL"',
        MSG=stderr,
        TOOL="pg\x1bdump",
        FABER_OPERATION="create-backup",
    )
    assert result.returncode == 1
    assert result.stdout.count("\n") == 1  # exactly one JSON object, on one line
    assert json.loads(result.stdout) == {
        "status": "error",
        "operation": "create-backup",
        "error": {"code": "tool_failed", "message": stderr},
        "tool": "pg\x1bdump",
    }


def test_a_4_kib_message_full_of_control_characters_is_escaped_whole():
    """Every control character of a 4 KiB message survives json_string (its speed was a
    timed assertion here, which failed on a loaded machine)."""
    message = (EVERY_CONTROL * 200)[:4096]
    assert json.loads(bash('json_string "$MSG"', MSG=message).stdout) == message


def test_check_pipeline_names_the_stage_that_failed():
    result = bash('check_pipeline "pg_dump zstd tee sha256" 141 2 0 0', FABER_OPERATION="x")
    assert result.returncode == 1
    out = json.loads(result.stdout)
    assert out["tool"] == "zstd" and out["exit_code"] == 2
    assert bash('check_pipeline "a b" 0 0; echo fine').stdout == "fine\n"


def test_shell_scripts_pass_shellcheck():
    if shutil.which("shellcheck") is None:
        skip_outside_ci("shellcheck is not installed (Debian: apt-get install shellcheck)")
    scripts = [
        *sorted(str(p.relative_to(REPO_ROOT)) for p in (REPO_ROOT / "handlers").glob("*/*.sh")),
        "quickstart.sh",
        "run-tests.sh",
        ".ci/run",
    ]
    result = subprocess.run(
        ["shellcheck", "-x", *scripts], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout
