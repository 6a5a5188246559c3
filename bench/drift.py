"""Drift benchmark: `faber-db drift` of the Umami history (14 real Prisma
migrations) against `faber-db migrate` of the same history into an empty database,
in the same run.

    python bench/drift.py [--runs 5] [--engines postgresql]

Target (issue 15): drift / migrate <= 1.5 on PostgreSQL. drift replays the same
migrations into a shadow it creates and drops, and introspects both databases.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from common import REPO, SERVER_URLS, median, temp_project, time_faber, write_results

from faber_db.engines import engine_for
from faber_db.urls import parse_url

UMAMI = REPO / "tests" / "fixtures" / "prisma-umami"
# The MySQL history stops at 04: 05 calls MySQL 8's BIN_TO_UUID, which MariaDB lacks.
UMAMI_STEPS = {"postgresql": 14, "mysql": 4}


def umami_copy(engine: str, tmp: Path) -> Path:
    """The engine's Umami history (the part that applies on this server)."""
    directory = tmp / "migrations"
    shutil.copytree(UMAMI / engine, directory)
    for later in sorted(p for p in directory.iterdir() if p.is_dir())[UMAMI_STEPS[engine] :]:
        shutil.rmtree(later)
    return directory


def fresh_database(engine: str, name: str) -> str:
    """An empty database on the engine's server; its URL."""
    base = parse_url(SERVER_URLS[engine])
    server = engine_for(base)
    server.drop_database(name)
    server.create_database(name)
    auth = base.user + (f":{base.password}" if base.password else "") + "@" if base.user else ""
    return f"{base.scheme}://{auth}{base.host}:{base.port}/{name}"


def bench_engine(engine: str, runs: int) -> dict:
    """Median migrate (into a fresh empty database each run) and median drift."""
    tmp = Path(tempfile.mkdtemp(prefix="faber-bench-drift-"))
    directory = umami_copy(engine, tmp)
    config = {"database": {"provider": engine}, "migrations": {"directory": str(directory)}}
    migrate_times, drift_times, name = [], [], "faber_bench_drift"
    try:
        for _ in range(runs):
            url = fresh_database(engine, name)
            root, env = temp_project(url, config)
            elapsed, result = time_faber(["migrate", "bench"], root, env)
            assert len(result["result"]["migrations_applied"]) == UMAMI_STEPS[engine]
            migrate_times.append(elapsed)
            elapsed, result = time_faber(["drift", "bench"], root, env)
            assert result["result"]["drift"] is False, result["result"]["differences"]
            drift_times.append(elapsed)
            shutil.rmtree(root, ignore_errors=True)
    finally:
        engine_for(parse_url(SERVER_URLS[engine])).drop_database(name)
        shutil.rmtree(tmp, ignore_errors=True)
    migrate, drift = median(migrate_times), median(drift_times)
    return {
        "migrations": UMAMI_STEPS[engine],
        "runs": runs,
        "migrate_seconds": round(migrate, 3),
        "drift_seconds": round(drift, 3),
        "ratio": round(drift / migrate, 3),
    }


def main() -> None:
    """Run the benchmark, print a table, write bench/results/drift.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--engines", default="postgresql")
    args = parser.parse_args()
    results = {}
    for engine in args.engines.split(","):
        print(f"{engine}: migrate and drift of the Umami history, {args.runs} runs ...", flush=True)
        results[engine] = bench_engine(engine, args.runs)
    print(f"{'engine':<11} {'migrations':>10} {'migrate':>9} {'drift':>9} {'ratio':>6}")
    for engine, r in results.items():
        print(
            f"{engine:<11} {r['migrations']:>10} {r['migrate_seconds']:>8.2f}s"
            f" {r['drift_seconds']:>8.2f}s {r['ratio']:>6.2f}"
        )
    path = write_results("drift", {"target_ratio": 1.5, "engines": results})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
