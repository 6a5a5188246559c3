"""Restore benchmark: `faber-db restore` wall time (step-1 checks, the atomic
restore and the verification against the manifest; no safety backup) divided by
the bare native restore of the same backup file, in the same run: into an empty
database on the servers; on SQLite, decompressing it and the sqlite3 shell's
`.restore` into the database (both SQLite restores replace a database that holds
the data, through the online backup API, so connections already open on it stay
safe). The safety backup's cost is reported separately, and for PostgreSQL
the two atomic strategies are timed bare: in place in one transaction (what
faber-db does) against a scratch database swapped in by rename.

    python bench/restore.py [--mb 1000] [--runs 3] [--engines postgresql,mysql,sqlite]
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from common import (
    REPO,
    database_bytes,
    ensure_dataset,
    median,
    parse_bench_arguments,
    temp_project,
    time_faber,
    time_shell,
    write_results,
)

from faber_db.engines import engine_for
from faber_db.urls import parse_url

PRELUDE = REPO / "handlers" / "postgresql" / "restore-prelude.sql"
UNZSTD = "zstd -q -d -c"


def mysql_option_file(directory: Path, url: str) -> str:
    """A 0600 [client] file for the native mariadb client (the bench's own credentials)."""
    conn = parse_url(url)
    path = directory / "my.cnf"
    lines = ["[client]", f"host={conn.host}", f"port={conn.port}", f"user={conn.user}"]
    if conn.password:
        lines.append(f"password={conn.password}")
    path.write_text("\n".join(lines) + "\n")
    os.chmod(path, 0o600)
    return str(path)


def target_url(engine: str, name: str) -> str:
    """URL of the restore target (a SQLite file under bench/data)."""
    from common import database_url

    return database_url(engine, name)


def native_restore(engine: str, file: str, url: str, cnf: str, staging: str) -> str:
    """The bare native restore of `file` into the database at `url` (empty for the
    servers). SQLite: what a person does with the native tool, decompress, then the
    sqlite3 shell's own `.restore` (the online backup API, as faber-db installs it)."""
    conn = parse_url(url)
    if engine == "postgresql":
        return f"{UNZSTD} {file} | pg_restore -h {conn.host} -p {conn.port} -U {conn.user} -d {conn.database}"
    if engine == "mysql":
        return f"{UNZSTD} {file} | mariadb --defaults-extra-file={cnf} {conn.database}"
    return (
        f'{UNZSTD} {file} > {staging} && sqlite3 {conn.database} ".restore {staging}"'
        f" && rm -f {staging}"
    )


def pg_strategies(file: str, url: str) -> dict[str, str]:
    """PostgreSQL, bare: in place in one transaction vs scratch database + rename swap."""
    conn = parse_url(url)
    psql = f"psql -X -q -v ON_ERROR_STOP=1 -h {conn.host} -p {conn.port} -U {conn.user}"
    scratch, old = conn.database + "_scratch", conn.database + "_old"
    return {
        "in_place": f"{{ echo 'BEGIN;'; cat {PRELUDE}; {UNZSTD} {file} | pg_restore -f -; echo 'COMMIT;'; }}"
        f" | {psql} -d {conn.database} >/dev/null",
        "scratch_rename": f"{psql} -d postgres -c 'DROP DATABASE IF EXISTS {scratch}' -c 'CREATE DATABASE {scratch}'"
        f" && {UNZSTD} {file} | pg_restore -h {conn.host} -p {conn.port} -U {conn.user} -d {scratch}"
        f' && {psql} -d postgres -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity'
        f" WHERE datname = '{conn.database}'\" -c 'ALTER DATABASE {conn.database} RENAME TO {old}'"
        f" -c 'ALTER DATABASE {scratch} RENAME TO {conn.database}' -c 'DROP DATABASE {old}' >/dev/null",
    }


def project_copy(root: Path, extra_config: dict) -> Path:
    """A second project sharing `root`'s catalogue and backups, with config changes."""
    copy = Path(tempfile.mkdtemp(prefix="faber-bench-"))
    plugin_dir = Path(".fractary") / "plugins" / "faber-db"
    (copy / plugin_dir).mkdir(parents=True)
    (copy / plugin_dir / "backups").symlink_to(root / plugin_dir / "backups")
    config = json.loads((root / plugin_dir / "config.json").read_text()) | extra_config
    (copy / plugin_dir / "config.json").write_text(json.dumps(config))
    return copy


def recreate(url: str) -> None:
    """Drop and re-create the target, empty."""
    conn = parse_url(url)
    engine = engine_for(conn)
    engine.drop_database(conn.database)
    if conn.engine != "sqlite":
        engine.create_database(conn.database)


def bench_engine(engine: str, target_mb: int, runs: int) -> dict:
    """Time faber-db restore, the native restore and the safety backup on one engine."""
    print(f"{engine}:", flush=True)
    source = ensure_dataset(engine, f"faber_bench_{engine}", target_mb)
    target = target_url(engine, f"faber_bench_restore_{engine}")
    root, env = temp_project(source, {"safety": {"protected_environments": []}})
    config_path = root / ".fractary" / "plugins" / "faber-db" / "config.json"
    config = json.loads(config_path.read_text())
    config["environments"]["target"] = {"connection_string_env": "FABER_BENCH_TARGET_URL"}
    config_path.write_text(json.dumps(config))
    env["FABER_BENCH_TARGET_URL"] = target
    _, backup = time_faber(["backup", "bench"], root, env)
    entry = backup["result"]
    file = str(root / entry["file"])
    times: dict[str, list[float]] = {"faber": [], "native": [], "safety_backup": []}
    restore_args = [
        "restore",
        "target",
        "--from",
        entry["backup_id"],
        "--no-safety-backup",
        "--yes",
    ]
    if engine == "postgresql":
        times |= {"faber_no_analyze": [], "in_place": [], "scratch_rename": []}
        without_analyze = project_copy(root, {"restore": {"analyze": False}})
    with tempfile.TemporaryDirectory(prefix="faber-bench-") as scratch:
        cnf = mysql_option_file(Path(scratch), target)
        native = native_restore(engine, file, target, cnf, str(Path(scratch) / "staged.db"))
        for run in range(runs):
            if engine != "sqlite":
                recreate(target)
            elif run == 0:  # both SQLite restores replace a database that holds the data
                recreate(target)
                time_shell(native)
            times["native"].append(time_shell(native))
            seconds, out = time_faber(restore_args, root, env)
            times["faber"].append(seconds)
            timings = out["result"]["timings"]
            if engine == "postgresql":
                times["faber_no_analyze"].append(time_faber(restore_args, without_analyze, env)[0])
            started = time.monotonic()
            time_faber(
                ["backup", "target", "--reason", "pre-rollback", "--label", "pre-rollback"],
                root,
                env,
            )
            times["safety_backup"].append(time.monotonic() - started)
            if engine == "postgresql":
                for name, script in pg_strategies(file, target).items():
                    times[name].append(time_shell(script))
            print(
                f"  run {run + 1}: "
                + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in times.items())
                + f" (faber phases: {timings})",
                flush=True,
            )
    seconds = {name: median(values) for name, values in times.items()}
    result = {
        "engine": engine,
        "format": entry["format"],
        "compression": entry["compression"],
        "backup_bytes": entry["size_bytes"],
        "database_bytes": database_bytes(target),
        "seconds": seconds,
        "runs": times,
        "faber_over_native": round(seconds["faber"] / seconds["native"], 3),
        "safety_backup_over_native": round(seconds["safety_backup"] / seconds["native"], 3),
        "last_faber_phases": timings,
    }
    if engine == "postgresql":
        result["faber_no_analyze_over_native"] = round(
            seconds["faber_no_analyze"] / seconds["native"], 3
        )
        result["scratch_rename_over_in_place"] = round(
            seconds["scratch_rename"] / seconds["in_place"], 3
        )
    return result


def main() -> None:
    args = parse_bench_arguments(__doc__.splitlines()[0])
    rows = [bench_engine(engine, args.mb, args.runs) for engine in args.engines.split(",")]
    print(
        f"\n{'engine':<11} {'db MB':>6} {'faber s':>8} {'native s':>9} {'ratio':>6} {'safety s':>9}"
    )
    for r in rows:
        s = r["seconds"]
        print(
            f"{r['engine']:<11} {r['database_bytes'] / 1e6:>6.0f} {s['faber']:>8.2f} {s['native']:>9.2f}"
            f" {r['faber_over_native']:>6.3f} {s['safety_backup']:>9.2f}"
        )
        if "in_place" in s:
            print(
                f"  postgresql with restore.analyze false: {s['faber_no_analyze']:.2f}s"
                f" (ratio {r['faber_no_analyze_over_native']:.3f})"
            )
            print(
                f"  postgresql bare strategies: in place (one transaction) {s['in_place']:.2f}s,"
                f" scratch database + rename {s['scratch_rename']:.2f}s"
            )
    print(
        f"\nwrote {write_results('restore', {'target_mb': args.mb, 'runs': args.runs, 'results': rows})}"
    )


if __name__ == "__main__":
    main()
