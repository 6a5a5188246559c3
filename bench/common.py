"""Shared benchmark plumbing: bench databases, a throwaway faber-db project,
timing of shell pipelines and faber-db commands, and result files."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results"
DATA = BENCH_DIR / "data"
SERVER_URLS = {
    "postgresql": os.environ.get(
        "FABER_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    ),
    "mysql": os.environ.get("FABER_BENCH_MYSQL_URL", "mysql://root@127.0.0.1:3306/test"),
}
sys.path.insert(0, str(REPO))

from datasets import build_dataset  # noqa: E402

from faber_db.engines import engine_for  # noqa: E402
from faber_db.urls import parse_url  # noqa: E402


def database_url(engine: str, name: str) -> str:
    """URL of a bench database (a file under bench/data for SQLite)."""
    if engine == "sqlite":
        DATA.mkdir(exist_ok=True)
        return f"sqlite:///{DATA / (name + '.db')}"
    base = parse_url(SERVER_URLS[engine])
    auth = base.user + (f":{base.password}" if base.password else "") + "@" if base.user else ""
    return f"{base.scheme}://{auth}{base.host}:{base.port}/{name}"


def ensure_dataset(engine: str, name: str, target_mb: int) -> str:
    """Create and fill the bench database once; later runs reuse it."""
    url = database_url(engine, name)
    eng = engine_for(parse_url(url))
    if eng.database_exists(parse_url(url).database):
        with eng.session() as db:
            if eng.list_tables(db):
                return url
        eng.drop_database(parse_url(url).database)
    eng.create_database(parse_url(url).database)
    started = time.monotonic()
    info = build_dataset(engine, url, target_mb)
    print(
        f"  built {engine} data set: {info['bytes'] / 1e6:.0f} MB in {time.monotonic() - started:.0f}s",
        flush=True,
    )
    return url


def temp_project(url: str, extra_config: dict | None = None) -> tuple[Path, dict]:
    """A throwaway project whose `bench` environment is `url`."""
    root = Path(tempfile.mkdtemp(prefix="faber-bench-"))
    config_dir = root / ".fractary" / "plugins" / "faber-db"
    config_dir.mkdir(parents=True)
    config = {
        "environments": {"bench": {"connection_string_env": "FABER_BENCH_URL"}},
        **(extra_config or {}),
    }
    (config_dir / "config.json").write_text(json.dumps(config))
    return root, {**os.environ, "FABER_BENCH_URL": url}


def time_shell(script: str, env: dict | None = None, cwd: Path | None = None) -> float:
    """Wall time of a bash pipeline (fails loudly)."""
    started = time.monotonic()
    subprocess.run(
        ["bash", "-o", "pipefail", "-c", script],
        check=True,
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
    )
    return time.monotonic() - started


def time_faber(args: list[str], root: Path, env: dict) -> tuple[float, dict]:
    """Wall time of one `faber-db ... --json` run, and its parsed output."""
    started = time.monotonic()
    completed = subprocess.run(
        [sys.executable, str(REPO / "bin" / "faber-db"), *args, "--json"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )
    elapsed = time.monotonic() - started
    if completed.returncode != 0:
        raise SystemExit(
            f"faber-db {' '.join(args)} failed:\n{completed.stdout}\n{completed.stderr}"
        )
    return elapsed, json.loads(completed.stdout)


def median(values: list[float]) -> float:
    """Median of repeated timings."""
    return statistics.median(values)


def write_results(name: str, data: dict) -> Path:
    """bench/results/<name>.json"""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def database_bytes(url: str) -> int:
    """The database's size on disk, as its engine reports it."""
    engine = engine_for(parse_url(url))
    with engine.session() as db:
        return engine.database_size(db)


def parse_bench_arguments(description: str, extra=None):
    """--mb, --runs and --engines, shared by the backup and restore benchmarks; `extra`
    (a function of the parser) adds a script's own."""
    import argparse

    parser = argparse.ArgumentParser(description=description)
    if extra is not None:
        extra(parser)
    parser.add_argument(
        "--mb", type=int, default=1000, help="data set size per engine in MB (default 1000)"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--engines", default="postgresql,mysql,sqlite")
    return parser.parse_args()
