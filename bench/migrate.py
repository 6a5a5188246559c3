"""Migration benchmark: `faber-db migrate` against applying the same files one
by one with the engine's own client, on empty databases, in the same run.

    python bench/migrate.py [--count 500] [--engines postgresql,mysql,sqlite]

Target (issue 4): faber-db / client <= 0.5 on PostgreSQL and MariaDB, because
faber-db connects once while the client starts and connects per file.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import SERVER_URLS, temp_project, time_faber, write_results

from faber_db.credentials import SecretFiles, secret_files
from faber_db.engines import engine_for
from faber_db.migration_deployer.prisma_layout import lock_file_text
from faber_db.urls import parse_url

ENGINES = ("postgresql", "mysql", "sqlite")


def generate_history(directory: Path, count: int, provider: str) -> list[Path]:
    """count small migrations: a table, then a column on it, then an index on it, ..."""
    directory.mkdir(parents=True)
    (directory / "migration_lock.toml").write_text(lock_file_text(provider))
    files = []
    for i in range(count):
        table = f"t{i // 3}"
        sql = (
            f"-- CreateTable\nCREATE TABLE {table} (id INTEGER PRIMARY KEY, name VARCHAR(50));\n",
            f"-- AlterTable\nALTER TABLE {table} ADD COLUMN note_{i} VARCHAR(20);\n",
            f"-- CreateIndex\nCREATE INDEX ix_{i} ON {table} (name);\n",
        )[i % 3]
        folder = directory / f"2024{i:010d}_step_{i}"
        folder.mkdir()
        (folder / "migration.sql").write_text(sql)
        files.append(folder / "migration.sql")
    return files


def fresh_database(engine: str, tmp: Path, tag: str) -> str:
    """Create an empty database; return its URL."""
    if engine == "sqlite":
        path = tmp / f"{tag}.db"
        engine_for(parse_url(f"sqlite:///{path}")).create_database(str(path))
        return f"sqlite:///{path}"
    base = parse_url(SERVER_URLS[engine])
    name = f"faber_bench_migrate_{tag}"
    eng = engine_for(base)
    eng.drop_database(name)
    eng.create_database(name)
    auth = base.user + (f":{base.password}" if base.password else "") + "@" if base.user else ""
    return f"{base.scheme}://{auth}{base.host}:{base.port}/{name}"


def client_command(engine: str, url: str, secrets: SecretFiles) -> tuple[list[str], dict, bool]:
    """(argv, extra env, file-on-stdin) that applies one file with the engine's client."""
    eng = engine_for(parse_url(url))
    env = eng.handler_environment(secrets)
    if engine == "postgresql":
        return ["psql", "-X", "-q", "-1", "-v", "ON_ERROR_STOP=1", "-f"], env, False
    if engine == "mysql":
        argv = ["mariadb", f"--defaults-extra-file={env['FABER_MYSQL_DEFAULTS']}"]
        return argv + [env["FABER_MYSQL_DATABASE"]], {}, True
    if shutil.which("sqlite3"):
        return ["sqlite3", parse_url(url).database], {}, True
    script = "import sqlite3,sys; sqlite3.connect(sys.argv[1]).executescript(sys.stdin.read())"
    return [sys.executable, "-c", script, parse_url(url).database], {}, True


def time_client(engine: str, url: str, files: list[Path]) -> float:
    """Wall time of applying every file, one client process per file."""
    with secret_files() as secrets:
        argv, env, stdin = client_command(engine, url, secrets)
        full_env = {**os.environ, **env}
        fds = tuple(secrets.fds)  # the in-memory credential files the client reads
        started = time.monotonic()
        for path in files:
            if stdin:
                with open(path, "rb") as handle:
                    subprocess.run(argv, stdin=handle, env=full_env, check=True, pass_fds=fds)
            else:
                subprocess.run([*argv, str(path)], env=full_env, check=True, pass_fds=fds)
        return time.monotonic() - started


def time_faber_migrate(url: str, directory: Path) -> tuple[float, int]:
    """Wall time of one `faber-db migrate` applying the whole directory, and its count."""
    root, env = temp_project(url, {"migrations": {"directory": str(directory)}})
    try:
        elapsed, result = time_faber(["migrate", "bench"], root, env)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return elapsed, len(result["result"]["migrations_applied"])


def bench_engine(engine: str, count: int) -> dict:
    """Both timings on two fresh databases of one engine."""
    tmp = Path(tempfile.mkdtemp(prefix="faber-bench-migrate-"))
    urls = []
    try:
        provider = engine_for(parse_url(fresh_url_hint(engine))).prisma_provider
        files = generate_history(tmp / "migrations", count, provider)
        urls = [fresh_database(engine, tmp, "faber"), fresh_database(engine, tmp, "client")]
        faber, applied = time_faber_migrate(urls[0], tmp / "migrations")
        assert applied == count, f"faber-db applied {applied} of {count}"
        client = time_client(engine, urls[1], files)
    finally:
        for url in urls:
            engine_for(parse_url(url)).drop_database(parse_url(url).database)
        shutil.rmtree(tmp, ignore_errors=True)
    return {
        "migrations": count,
        "faber_seconds": round(faber, 3),
        "client_seconds": round(client, 3),
        "ratio": round(faber / client, 3),
        "faber_ms_per_migration": round(faber * 1000 / count, 2),
        "client_ms_per_migration": round(client * 1000 / count, 2),
    }


def fresh_url_hint(engine: str) -> str:
    """Any URL of the engine (to look up its Prisma provider)."""
    return SERVER_URLS.get(engine, "sqlite:///bench.db")


def main() -> None:
    """Run the benchmark, print a table, write bench/results/migrate.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--engines", default=",".join(ENGINES))
    args = parser.parse_args()
    results = {}
    for engine in args.engines.split(","):
        print(f"{engine}: applying {args.count} migrations ...", flush=True)
        results[engine] = bench_engine(engine, args.count)
    header = f"{'engine':<11} {'faber-db':>9} {'client':>9} {'ratio':>6} {'faber ms/mig':>13} {'client ms/mig':>14}"
    print(header)
    for engine, r in results.items():
        print(
            f"{engine:<11} {r['faber_seconds']:>8.2f}s {r['client_seconds']:>8.2f}s {r['ratio']:>6.2f}"
            f" {r['faber_ms_per_migration']:>13.2f} {r['client_ms_per_migration']:>14.2f}"
        )
    path = write_results("migrate", {"target_ratio": 0.5, "engines": results})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
