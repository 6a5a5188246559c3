"""Encryption benchmark: faber-db backup with backup.encryption (age in the pipeline)
against the same backup without it, alternating runs on the same data; and the
restore of each.

    python bench/encryption.py [--mb 1000] [--runs 3] [--engines postgresql,mysql,sqlite]
                               [--backup-only]

Target (issue 13): a backup with encryption (and remote upload) <= 1.25x the same
backup without them. This script measures the encryption part.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from common import (
    database_bytes,
    ensure_dataset,
    median,
    parse_bench_arguments,
    temp_project,
    time_faber,
    write_results,
)


def age_keys(directory: Path) -> tuple[Path, str]:
    """A fresh age identity (0600) and its public key."""
    identity = directory / "identity.txt"
    subprocess.run(["age-keygen", "-o", str(identity)], check=True, capture_output=True)
    identity.chmod(0o600)
    public = subprocess.run(
        ["age-keygen", "-y", str(identity)], check=True, capture_output=True, text=True
    ).stdout.strip()
    return identity, public


def time_backup_and_restore(root: Path, env: dict, restore: bool) -> tuple[float, float, int]:
    """One backup then (if `restore`) one restore of it into the same database; their
    wall times and the backup's size. The backups folder is emptied afterwards."""
    backup_s, result = time_faber(["backup", "bench"], root, env)
    backup_id = result["result"]["backup_id"]
    restore_args = ["restore", "bench", "--from", backup_id, "--yes", "--no-safety-backup"]
    restore_s = time_faber(restore_args, root, env)[0] if restore else float("nan")
    shutil.rmtree(root / ".fractary" / "plugins" / "faber-db" / "backups", ignore_errors=True)
    return backup_s, restore_s, result["result"]["size_bytes"]


def bench_engine(engine: str, target_mb: int, runs: int, restore: bool = True) -> dict:
    url = ensure_dataset(engine, f"faber_bench_{engine}", target_mb)
    keys = Path(tempfile.mkdtemp(prefix="faber-bench-age-"))
    identity, public = age_keys(keys)
    plain_root, env = temp_project(url)
    sealed_root, _ = temp_project(url, {"backup": {"encryption": {"recipients": [public]}}})
    env = {**env, "FABER_DB_AGE_IDENTITY": str(identity)}
    timings: dict[str, list[float]] = {k: [] for k in ("plain", "age", "plain_r", "age_r")}
    sizes = {}
    for _ in range(runs):  # alternate, so drift on the machine hits both alike
        for name, root in (("plain", plain_root), ("age", sealed_root)):
            backup_s, restore_s, sizes[name] = time_backup_and_restore(root, env, restore)
            timings[name].append(backup_s)
            timings[f"{name}_r"].append(restore_s)
    for path in (keys, plain_root, sealed_root):
        shutil.rmtree(path, ignore_errors=True)
    med = {k: median(v) for k, v in timings.items()}
    return {
        "engine": engine,
        "database_bytes": database_bytes(url),
        "seconds": med,
        "runs": timings,
        "sizes": sizes,
        "backup_age_over_plain": round(med["age"] / med["plain"], 3),
        "restore_age_over_plain": round(med["age_r"] / med["plain_r"], 3),
    }


def add_arguments(parser) -> None:
    """This script's own flag."""
    parser.add_argument("--backup-only", action="store_true", help="time backups, no restores")


def main() -> None:
    args = parse_bench_arguments(__doc__.splitlines()[0], add_arguments)
    restore = not args.backup_only
    rows = [bench_engine(e, args.mb, args.runs, restore) for e in args.engines.split(",")]
    print(
        f"\n{'engine':<11} {'db MB':>6} {'plain s':>8} {'age s':>7} {'ratio':>6}"
        f" {'restore plain s':>16} {'restore age s':>14} {'ratio':>6}"
    )
    for r in rows:
        s = r["seconds"]
        print(
            f"{r['engine']:<11} {r['database_bytes'] / 1e6:>6.0f} {s['plain']:>8.2f} {s['age']:>7.2f}"
            f" {r['backup_age_over_plain']:>6.3f} {s['plain_r']:>16.2f} {s['age_r']:>14.2f}"
            f" {r['restore_age_over_plain']:>6.3f}"
        )
    data = {"target_mb": args.mb, "runs": args.runs, "results": rows, "restore": restore}
    print(f"\nwrote {write_results('encryption', data)}")


if __name__ == "__main__":
    main()
