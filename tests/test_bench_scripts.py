"""The benchmarks are not run in CI, but they must keep working: each script
must at least import and print its help."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.mark.parametrize("script", ["backup.py", "restore.py", "migrate.py", "guard.py"])
def test_bench_script_loads(script):
    completed = subprocess.run(
        [sys.executable, str(BENCH / script), "--help"], cwd=BENCH, capture_output=True, text=True
    )
    assert completed.returncode == 0, completed.stderr
    assert "usage" in completed.stdout.lower()
