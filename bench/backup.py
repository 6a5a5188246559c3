"""Backup benchmark: faber-db backup against the bare native pipeline (same
format and compression, same run), and against the prototype's `pg_dump | gzip`.

    python bench/backup.py [--mb 1000] [--runs 3] [--engines postgresql,mysql,sqlite]

Targets (issue 2): faber-db / native <= 1.05; faber-db default at least 1.5x
faster than the prototype's path and no larger.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from common import (
    REPO,
    database_bytes,
    ensure_dataset,
    median,
    parse_bench_arguments,
    parse_url,
    temp_project,
    time_faber,
    time_shell,
    write_results,
)

SQLITE_TOOL = REPO / "handlers" / "sqlite" / "sqlite_tool.py"
ZSTD = "zstd -q -c -1 -T0"  # faber-db's default level
MYSQL_DUMP = (
    "mariadb-dump --defaults-extra-file={cnf} --single-transaction --routines --triggers --events"
    " --default-character-set=utf8mb4 --hex-blob --no-tablespaces --max-allowed-packet=1G --quick {db}"
)


def sqlite_backup_command(database: str, copy: str) -> str:
    """The sqlite3 shell's .backup (the online backup API); our tool when it is missing."""
    if shutil.which("sqlite3"):
        return f"sqlite3 {database} '.backup {copy}'"
    return f"python3 {SQLITE_TOOL} backup {database} {copy}"


def native_pipelines(engine: str, url: str, out: Path, cnf: Path) -> dict[str, str]:
    """Bare native commands: the same format/compression as faber-db's default, and the prototype's."""
    conn = parse_url(url)
    if engine == "postgresql":
        pg = f"pg_dump -h {conn.host} -p {conn.port} -U {conn.user} {conn.database}"
        return {"native": f"{pg} -Fc -Z0 | {ZSTD} > {out}", "prototype": f"{pg} | gzip > {out}"}
    if engine == "mysql":
        dump = MYSQL_DUMP.format(cnf=cnf, db=conn.database)
        return {"native": f"{dump} | {ZSTD} > {out}", "prototype": f"{dump} | gzip > {out}"}
    copy = sqlite_backup_command(conn.database, f"{out}.db")
    return {
        "native": f"{copy} && {ZSTD} {out}.db > {out} && rm -f {out}.db",
        "prototype": f"{copy} && gzip -c {out}.db > {out} && rm -f {out}.db",
    }


def bench_engine(engine: str, target_mb: int, runs: int) -> dict:
    url = ensure_dataset(engine, f"faber_bench_{engine}", target_mb)
    root, env = temp_project(url)
    work = Path(tempfile.mkdtemp(prefix="faber-bench-out-"))
    cnf = work / "my.cnf"
    conn = parse_url(url)
    cnf.write_text(f"[client]\nhost={conn.host}\nport={conn.port}\nuser={conn.user}\n")
    os.chmod(cnf, 0o600)
    out = work / "native.out"
    pipelines = native_pipelines(engine, url, out, cnf)
    timings = {"faber": [], "native": [], "prototype": []}
    sizes = {}
    for _ in range(runs):
        elapsed, result = time_faber(["backup", "bench"], root, env)
        timings["faber"].append(elapsed)
        sizes["faber"] = result["result"]["size_bytes"]
        shutil.rmtree(root / ".fractary" / "plugins" / "faber-db" / "backups", ignore_errors=True)
        for name, script in pipelines.items():
            timings[name].append(time_shell(script))
            sizes[name] = out.stat().st_size
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(root, ignore_errors=True)
    med = {k: median(v) for k, v in timings.items()}
    return {
        "engine": engine,
        "format": result["result"]["format"],
        "compression": result["result"]["compression"],
        "database_bytes": database_bytes(url),
        "seconds": med,
        "runs": timings,
        "sizes": sizes,
        "faber_over_native": round(med["faber"] / med["native"], 3),
        "prototype_over_faber": round(med["prototype"] / med["faber"], 2),
        "faber_size_over_prototype": round(sizes["faber"] / sizes["prototype"], 3),
    }


def main() -> None:
    args = parse_bench_arguments(__doc__.splitlines()[0])
    rows = [bench_engine(engine, args.mb, args.runs) for engine in args.engines.split(",")]
    print(
        f"\n{'engine':<11} {'db MB':>6} {'faber s':>8} {'native s':>9} {'ratio':>6} {'proto s':>8} {'speedup':>8} {'size vs proto':>14}"
    )
    for r in rows:
        s = r["seconds"]
        print(
            f"{r['engine']:<11} {r['database_bytes'] / 1e6:>6.0f} {s['faber']:>8.2f} {s['native']:>9.2f} "
            f"{r['faber_over_native']:>6.3f} {s['prototype']:>8.2f} {r['prototype_over_faber']:>7.2f}x "
            f"{r['faber_size_over_prototype']:>14.3f}"
        )
    print(
        f"\nwrote {write_results('backup', {'target_mb': args.mb, 'runs': args.runs, 'results': rows})}"
    )


if __name__ == "__main__":
    main()
