"""Ten concurrent `faber-db backup` runs end with ten entries and a valid catalogue."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sample_data import load_sample


@pytest.mark.parametrize("engine_name", ["sqlite", "postgresql", "mysql"], indirect=True)
def test_ten_concurrent_backups_lose_no_entry(project):
    load_sample(project.database)
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "faber_db", "backup", "dev", "--label", "same", "--json"],
            cwd=project.root,
            env={**os.environ, **project.env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(10)
    ]
    results = [p.communicate(timeout=300) for p in processes]
    assert [p.returncode for p in processes] == [0] * 10, results
    entries = project.catalogue()["backups"]
    assert len(entries) == 10
    assert len({e["id"] for e in entries}) == 10
    assert all((project.root / e["file"]).is_file() for e in entries)
    assert len({e["file"] for e in entries}) == 10
    code, out = project.run_json("backups", "list")
    assert code == 0 and out["result"]["count"] == 10 and out["warnings"] == []
