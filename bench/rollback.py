"""Rollback benchmark: `rollback --strategy down` against `rollback --strategy restore`
of the same migration on the same database, in the same run.

    python bench/rollback.py [--rows 300000] [--runs 3] [--engines postgresql,mysql,sqlite]

A table of --rows rows exists before the backup; the migration rolled back adds a
small table and a column. Both runs skip the safety backup (it costs the same for
both), so the figures are the strategies' own cost: down runs only its down.sql,
restore reloads the whole database.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from common import SERVER_URLS, median, temp_project, time_faber, write_results

from faber_db.engines import engine_for
from faber_db.migration_deployer.prisma_layout import lock_file_text
from faber_db.urls import parse_url

INIT = "20240101000000_init"
CHANGE = "20240102000000_change"
FILL = {
    "postgresql": "INSERT INTO bulk SELECT g, md5(g::text) FROM generate_series(1, {n}) g",
    "mysql": "INSERT INTO bulk SELECT seq, md5(seq) FROM seq_1_to_{n}",
    "sqlite": "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < {n})"
    " INSERT INTO bulk SELECT i, hex(randomblob(16)) FROM g",
}


def fresh_database(engine: str, tmp: Path) -> str:
    """An empty bench database; its URL."""
    if engine == "sqlite":
        path = tmp / "rollback.db"
        engine_for(parse_url(f"sqlite:///{path}")).create_database(str(path))
        return f"sqlite:///{path}"
    base = parse_url(SERVER_URLS[engine])
    name = "faber_bench_rollback"
    server = engine_for(base)
    server.drop_database(name)
    server.create_database(name)
    auth = base.user + (f":{base.password}" if base.password else "") + "@" if base.user else ""
    return f"{base.scheme}://{auth}{base.host}:{base.port}/{name}"


def write_history(root: Path, engine: str) -> None:
    """INIT (the big table) and CHANGE (with its down.sql)."""
    directory = root / "prisma" / "migrations"
    for name, sql in (
        (INIT, "CREATE TABLE bulk (id INTEGER PRIMARY KEY, v VARCHAR(64));\n"),
        (
            CHANGE,
            "CREATE TABLE extra (id INTEGER PRIMARY KEY);\nALTER TABLE bulk ADD COLUMN w INTEGER;\n",
        ),
    ):
        (directory / name).mkdir(parents=True)
        (directory / name / "migration.sql").write_text(sql)
    (directory / CHANGE / "down.sql").write_text(
        "DROP TABLE extra;\nALTER TABLE bulk DROP COLUMN w;\n"
    )
    (directory / "migration_lock.toml").write_text(lock_file_text(engine))


def bench_engine(engine: str, rows: int, runs: int) -> dict:
    """Median seconds of each strategy and their ratio."""
    tmp = Path(tempfile.mkdtemp(prefix="faber-bench-rollback-"))
    url = fresh_database(engine, tmp)
    root, env = temp_project(url, {"database": {"provider": engine}})
    write_history(root, engine)
    faber = lambda *args: time_faber(list(args), root, env)  # noqa: E731
    change = root / "prisma" / "migrations" / CHANGE
    hidden = tmp / CHANGE
    shutil.move(change, hidden)
    faber("migrate", "bench", "--yes", "--no-backup")
    target = engine_for(parse_url(url))
    with target.session() as db:
        target.query(db, FILL[engine].format(n=rows))
    faber("backup", "bench")
    shutil.move(hidden, change)
    timings: dict[str, list[float]] = {"down": [], "restore": []}
    back = ["rollback", "bench", "--to", INIT, "--no-safety-backup", "--yes"]
    for _ in range(runs):
        for strategy in ("down", "restore"):
            faber("migrate", "bench", "--yes", "--no-backup")
            seconds, _ = faber(*back, "--strategy", strategy)
            timings[strategy].append(seconds)
    if engine != "sqlite":
        engine_for(parse_url(SERVER_URLS[engine])).drop_database(parse_url(url).database)
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(root, ignore_errors=True)
    down, restore = median(timings["down"]), median(timings["restore"])
    return {
        "rows": rows,
        "down_seconds": down,
        "restore_seconds": restore,
        "restore_over_down": restore / down,
    }


def main() -> None:
    """Run the benchmark and print one line per engine."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--engines", default="postgresql,mysql,sqlite")
    args = parser.parse_args()
    results = {}
    for engine in args.engines.split(","):
        results[engine] = bench_engine(engine, args.rows, args.runs)
        r = results[engine]
        print(
            f"{engine}: down {r['down_seconds']:.2f} s, restore {r['restore_seconds']:.2f} s, "
            f"restore/down {r['restore_over_down']:.1f}x ({r['rows']} rows)",
            flush=True,
        )
    print(f"results: {write_results('rollback', results)}")


if __name__ == "__main__":
    main()
