"""The benchmarks are not run in CI, but they must keep working: each script
must at least import and print its help."""

from __future__ import annotations

import subprocess
import sys

import pytest
from support import REPO_ROOT

BENCH = REPO_ROOT / "bench"


@pytest.mark.parametrize(
    "script",
    [
        "backup.py",
        "restore.py",
        "migrate.py",
        "check.py",
        "guard.py",
        "drift.py",
        "rollback.py",
        "encryption.py",
        "remote.py",
        "rehearsal.py",
    ],
)
def test_bench_script_loads(script):
    completed = subprocess.run(
        [sys.executable, str(BENCH / script), "--help"], cwd=BENCH, capture_output=True, text=True
    )
    assert completed.returncode == 0, completed.stderr
    assert "usage" in completed.stdout.lower()
