"""Remote repository benchmark: faber-db's upload of a backup file (multipart, every
part SHA256-checked, the stored checksum compared) against boto3's own
`upload_file` of the same file to the same SeaweedFS server, and the peak RSS of
each. Each upload runs in its own process (so ru_maxrss is that upload's alone),
the two alternate, and the medians are compared. With --backup, also a whole
`faber-db backup` of a SQLite bench data set with and without backup.remote, and
the peak RSS of the largest process of the run (faber-db or a child).

    python bench/remote.py --mb 200,1000 --runs 5 [--backup]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import DATA, REPO, ensure_dataset, median, temp_project, write_results

sys.path.insert(0, str(REPO / "tests"))

UPLOADER = r"""
import json, resource, sys, time
mode, path, endpoint, bucket, key = sys.argv[1:6]
sys.path.insert(0, sys.argv[6])
started = time.monotonic()
if mode == "boto3":
    import boto3
    from botocore.config import Config
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          config=Config(s3={"addressing_style": "path"}))
    client.upload_file(path, bucket, key)
else:
    from pathlib import Path
    from faber_db.backup_manager.remote.client import make_client
    from faber_db.backup_manager.remote.settings import RemoteSettings
    from faber_db.backup_manager.remote.transfer import upload_path
    settings = RemoteSettings(bucket=bucket, endpoint_url=endpoint)
    upload_path(make_client(settings), settings, Path(path), key)
elapsed = time.monotonic() - started
print(json.dumps({"seconds": elapsed,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def bench_file(megabytes: int) -> Path:
    """An incompressible file of `megabytes` MiB (a compressed backup looks like this)."""
    DATA.mkdir(exist_ok=True)
    path = DATA / f"remote-{megabytes}mb.bin"
    if not path.exists() or path.stat().st_size != megabytes << 20:
        with open(path, "wb") as out:
            for _ in range(megabytes):
                out.write(os.urandom(1 << 20))
    return path


def upload(mode: str, path: Path, server, bucket: str, key: str) -> dict:
    """One upload in a fresh process: its wall time and peak RSS."""
    from s3_support import credentials_env

    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": credentials_env()["FABER_TEST_S3_KEY"],
        "AWS_SECRET_ACCESS_KEY": credentials_env()["FABER_TEST_S3_SECRET"],
    }
    completed = subprocess.run(
        [sys.executable, "-c", UPLOADER, mode, str(path), server.endpoint, bucket, key, str(REPO)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(completed.stdout)


def run(sizes: list[int], runs: int) -> dict:
    """Alternate the two uploads `runs` times per size; medians and ratios."""
    from s3_support import S3Server

    server = S3Server(Path(tempfile.mkdtemp(prefix="faber-bench-s3-")))
    server.start()
    results = {}
    try:
        bucket = server.new_bucket()
        for megabytes in sizes:
            path = bench_file(megabytes)
            samples = {"boto3": [], "faber": []}
            for number in range(runs):
                for mode in ("boto3", "faber"):
                    samples[mode].append(upload(mode, path, server, bucket, f"{mode}/{number}"))
            boto3_s = median([s["seconds"] for s in samples["boto3"]])
            faber_s = median([s["seconds"] for s in samples["faber"]])
            results[f"{megabytes}MB"] = {
                "boto3_upload_file_s": round(boto3_s, 2),
                "faber_upload_s": round(faber_s, 2),
                "ratio": round(faber_s / boto3_s, 3),
                "boto3_peak_rss_mb": round(max(s["peak_rss_mb"] for s in samples["boto3"]), 1),
                "faber_peak_rss_mb": round(max(s["peak_rss_mb"] for s in samples["faber"]), 1),
                "runs": runs,
            }
            print(megabytes, "MB:", results[f"{megabytes}MB"], flush=True)
    finally:
        server.stop()
    return results


def time_backup(root: Path, env: dict) -> tuple[float, float]:
    """One `faber-db backup bench` in a fresh process: wall time, and the peak RSS of
    the largest process it ran (ru_maxrss of the waited-for children)."""
    script = (
        "import json, resource, subprocess, sys, time; t = time.monotonic(); "
        "subprocess.run([sys.executable, '-m', 'faber_db', 'backup', 'bench', '--json'], "
        "check=True, stdout=subprocess.DEVNULL); "
        "print(json.dumps([time.monotonic() - t, "
        "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024]))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], cwd=root, env=env, capture_output=True, text=True
    )
    if completed.returncode != 0:
        raise SystemExit(completed.stderr)
    seconds, rss = json.loads(completed.stdout)
    return seconds, rss


def run_backups(sizes: list[int], runs: int) -> dict:
    """faber-db backup with and without the repository, alternating."""
    from s3_support import S3Server, credentials_env, remote_config

    server = S3Server(Path(tempfile.mkdtemp(prefix="faber-bench-s3-")))
    server.start()
    results = {}
    try:
        bucket = server.new_bucket()
        for megabytes in sizes:
            url = ensure_dataset("sqlite", f"faber_bench_remote_{megabytes}", megabytes)
            local_root, env = temp_project(url)
            remote = {"backup": {"remote": remote_config(server, bucket)}}
            remote_root, remote_env = temp_project(url, remote)
            remote_env |= credentials_env()
            samples = {"local": [], "remote": []}
            for _ in range(runs):
                samples["local"].append(time_backup(local_root, env))
                samples["remote"].append(time_backup(remote_root, remote_env))
            local_s = median([s for s, _ in samples["local"]])
            remote_s = median([s for s, _ in samples["remote"]])
            results[f"backup_{megabytes}MB"] = {
                "backup_s": round(local_s, 2),
                "backup_with_remote_s": round(remote_s, 2),
                "ratio": round(remote_s / local_s, 3),
                "peak_rss_mb": round(max(r for _, r in samples["local"]), 1),
                "peak_rss_with_remote_mb": round(max(r for _, r in samples["remote"]), 1),
                "runs": runs,
            }
            print(megabytes, "MB backup:", results[f"backup_{megabytes}MB"], flush=True)
    finally:
        server.stop()
    return results


def main() -> None:
    """Parse the arguments, run, write bench/results/remote.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", default="200", help="file sizes in MiB, comma-separated")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--backup", action="store_true", help="also time whole backups with and without it"
    )
    parser.add_argument("--no-upload", action="store_true", help="skip the upload comparison")
    args = parser.parse_args()
    started = time.monotonic()
    sizes = [int(m) for m in args.mb.split(",")]
    results = {} if args.no_upload else run(sizes, args.runs)
    if args.backup:
        results |= run_backups(sizes, args.runs)
    results["total_seconds"] = round(time.monotonic() - started, 1)
    print("results:", write_results("remote-backup" if args.no_upload else "remote", results))


if __name__ == "__main__":
    main()
