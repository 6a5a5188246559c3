"""Rehearsal benchmark (PostgreSQL): `faber-db migrate <env> --rehearse` wall time
against a plain restore + migrate of the same backup, in the same run:

* native: createdb, `zstd -d | pg_restore` into it, `psql -1 -f migration.sql`, dropdb;
* faber-db: `restore target --from <id> --no-safety-backup --yes` into a fresh
  database, then `migrate target --no-backup` (what a person would do by hand with
  faber-db), then the database dropped.

The data set is bench/datasets.py's (customers, orders, events) in its own
database, faber_bench_rehearsal_postgresql, baselined with one empty migration and
backed up once; the rehearsed migration adds a column, builds an index on events and
updates a tenth of customers.

    python bench/rehearsal.py [--mb 1000] [--runs 3]
"""

from __future__ import annotations

import json
from pathlib import Path

from common import (
    database_bytes,
    database_url,
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

BASELINE = "20250101000000_baseline"
MIGRATION = "20250102000000_rehearsed"
MIGRATION_SQL = (
    "ALTER TABLE orders ADD COLUMN flag BOOLEAN;\n"
    "CREATE INDEX events_kind_idx ON events (kind);\n"
    "UPDATE customers SET country = upper(country) WHERE id % 10 = 0;\n"
)


def write_migration(root: Path, name: str, sql: str) -> None:
    """prisma/migrations/<name>/migration.sql (and the lock file)."""
    directory = root / "prisma" / "migrations"
    (directory / name).mkdir(parents=True, exist_ok=True)
    (directory / "migration_lock.toml").write_text('provider = "postgresql"\n')
    (directory / name / "migration.sql").write_text(sql)


def native_script(file: str, url: str, migration: Path) -> str:
    """createdb, pg_restore the backup, apply the migration in one transaction, dropdb."""
    conn = parse_url(url)
    where = f"-h {conn.host} -p {conn.port} -U {conn.user}"
    name = conn.database
    return (
        f"createdb {where} {name} && zstd -q -d -c {file} | pg_restore {where} -d {name}"
        f" && psql -X -q -1 -v ON_ERROR_STOP=1 {where} -d {name} -f {migration} >/dev/null"
        f" && dropdb {where} {name}"
    )


def prepared_project(target_mb: int) -> tuple[Path, dict, dict]:
    """The project, its environment and the backup entry the runs rehearse on."""
    source = ensure_dataset("postgresql", "faber_bench_rehearsal_postgresql", target_mb)
    root, env = temp_project(source, {"safety": {"protected_environments": []}})
    config_path = root / ".fractary" / "plugins" / "faber-db" / "config.json"
    config = json.loads(config_path.read_text())
    config["database"] = {"provider": "postgresql", "migration_tool": "prisma"}
    config["environments"]["target"] = {"connection_string_env": "FABER_BENCH_TARGET_URL"}
    config_path.write_text(json.dumps(config))
    env["FABER_BENCH_TARGET_URL"] = database_url("postgresql", "faber_bench_rehearsal_target")
    write_migration(root, BASELINE, "-- the bench data set\nSELECT 1;\n")
    with engine_for(parse_url(source)).session() as db:
        baselined = engine_for(parse_url(source)).table_exists(db, "_prisma_migrations")
    if not baselined:
        time_faber(["resolve", "bench", "--applied", BASELINE], root, env)
    _, backup = time_faber(["backup", "bench"], root, env)
    write_migration(root, MIGRATION, MIGRATION_SQL)
    return root, env, backup["result"]


def drop(url: str) -> None:
    """Drop a bench target database if it is there."""
    conn = parse_url(url)
    engine_for(conn).drop_database(conn.database)


def bench(target_mb: int, runs: int) -> dict:
    """Time the three ways on the same backup, back to back, `runs` times."""
    root, env, entry = prepared_project(target_mb)
    target = env["FABER_BENCH_TARGET_URL"]
    file = str(root / entry["file"])
    migration = root / "prisma" / "migrations" / MIGRATION / "migration.sql"
    times: dict[str, list[float]] = {"rehearsal": [], "faber_restore_migrate": [], "native": []}
    reports = []
    for run in range(runs):
        drop(target)
        times["native"].append(time_shell(native_script(file, target, migration)))
        seconds, out = time_faber(
            ["migrate", "bench", "--rehearse", "--rehearse-from", entry["backup_id"]], root, env
        )
        times["rehearsal"].append(seconds)
        reports.append({k: v for k, v in out["result"]["rehearsal"].items() if "seconds" in k})
        drop(target)
        restore = ["restore", "target", "--from", entry["backup_id"], "--no-safety-backup", "--yes"]
        restored, _ = time_faber(restore, root, env)
        migrated, _ = time_faber(["migrate", "target", "--no-backup"], root, env)
        times["faber_restore_migrate"].append(restored + migrated)
        drop(target)
        print(
            f"  run {run + 1}: "
            + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in times.items())
            + f" (rehearsal phases: {reports[-1]})",
            flush=True,
        )
    seconds = {name: median(values) for name, values in times.items()}
    return {
        "engine": "postgresql",
        "database_bytes": database_bytes(env["FABER_BENCH_URL"]),
        "backup_bytes": entry["size_bytes"],
        "seconds": seconds,
        "runs": times,
        "rehearsal_phases": reports,
        "rehearsal_over_native": round(seconds["rehearsal"] / seconds["native"], 3),
        "rehearsal_over_faber_restore_migrate": round(
            seconds["rehearsal"] / seconds["faber_restore_migrate"], 3
        ),
    }


def main() -> None:
    args = parse_bench_arguments(__doc__.splitlines()[0])
    result = bench(args.mb, args.runs)
    s = result["seconds"]
    print(
        f"\ndb {result['database_bytes'] / 1e6:.0f} MB: rehearsal {s['rehearsal']:.2f}s, "
        f"native restore+migrate {s['native']:.2f}s (ratio {result['rehearsal_over_native']}), "
        f"faber-db restore+migrate {s['faber_restore_migrate']:.2f}s "
        f"(ratio {result['rehearsal_over_faber_restore_migrate']})"
    )
    print(f"results: {write_results('rehearsal', result)}")


if __name__ == "__main__":
    main()
