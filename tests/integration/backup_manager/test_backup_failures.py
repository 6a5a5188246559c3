"""A backup that fails, is killed or is interrupted records nothing and leaves
no file that could be mistaken for a backup; damaged backups are caught."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from bulk_data import load_bulk, load_random_blobs
from support import Project, basic_config, skip_outside_ci

BULK_ROWS = {"postgresql": 600_000, "mysql": 600_000, "sqlite": 400_000}


def start_backup(project: Project, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "faber_db", "backup", "dev", "--json", *args],
        cwd=project.root,
        env={**os.environ, **project.env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def partial_output_sizes(project: Project) -> list[int]:
    """Sizes of the backup files still being written in a partial workspace."""
    env_dir = project.config_dir / "backups" / "dev"
    sizes = []
    for path in env_dir.glob(".faber-partial-*/backup.*") if env_dir.exists() else []:
        with contextlib.suppress(FileNotFoundError):  # renamed into place meanwhile
            sizes.append(path.stat().st_size)
    return sizes


def wait_for_partial_output(project: Project, minimum_bytes: int, timeout: float = 60) -> None:
    """Block until the in-progress backup file has grown past minimum_bytes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if max(partial_output_sizes(project), default=0) >= minimum_bytes:
            return
        time.sleep(0.02)
    raise AssertionError("the backup never started writing")


def signal_mid_backup(process: subprocess.Popen, project: Project, signum: int) -> None:
    """Send `signum` to faber-db while its backup is certainly still in progress.

    Once 256 KiB of output exist, faber-db is frozen (SIGSTOP) and the test checks
    that the file is still in its partial workspace and nothing is recorded, so the
    signal lands before the rename and the catalogue entry: on a busy machine the
    test can otherwise be delayed between seeing the file and signalling until
    faber-db has finished, and the signal then reaches nothing. A stopped process
    receives a pending SIGINT the moment it resumes (SIGKILL, at once)."""
    wait_for_partial_output(project, 256 * 1024)
    os.kill(process.pid, signal.SIGSTOP)
    try:
        assert partial_output_sizes(project), "the backup finished before it could be signalled"
        assert project.catalogue()["backups"] == []
        os.kill(process.pid, signum)
    finally:
        os.kill(process.pid, signal.SIGCONT)


def leftover_files(project: Project) -> list[Path]:
    env_dir = project.config_dir / "backups" / "dev"
    return sorted(env_dir.rglob("*")) if env_dir.exists() else []


def wait_until_clean(project: Project, timeout: float = 15) -> list[Path]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and leftover_files(project):
        time.sleep(0.1)
    return leftover_files(project)


@pytest.mark.slow
def test_sigkill_mid_dump_records_nothing_and_leaves_no_file(project):
    load_bulk(project.database, BULK_ROWS[project.database.engine])
    process = start_backup(project, "--compression", "gzip")
    signal_mid_backup(process, project, signal.SIGKILL)
    process.wait()
    assert wait_until_clean(project) == []
    assert project.catalogue()["backups"] == []
    assert not _dump_processes_for(project.database.conn.database)


# The real CLI, with a Ctrl-C the moment the new entry is in the catalogue file.
CTRL_C_AFTER_CATALOGUE_WRITE = """
import os, signal, sys
from faber_db.backup_manager.catalogue import Catalogue
from faber_db.cli import entry_point

write = Catalogue._write

def write_then_interrupt(self, entries):
    write(self, entries)
    if entries:
        os.kill(os.getpid(), signal.SIGINT)

Catalogue._write = write_then_interrupt
sys.argv[0] = "faber-db"
entry_point()
"""


@pytest.mark.parametrize("engine_name", ["sqlite", "postgresql"], indirect=True)
def test_ctrl_c_as_the_entry_is_written_keeps_the_listed_backup(project):
    project.database.script(["CREATE TABLE t (id INTEGER PRIMARY KEY)", "INSERT INTO t VALUES (1)"])
    result = subprocess.run(
        [sys.executable, "-c", CTRL_C_AFTER_CATALOGUE_WRITE, "backup", "dev", "--json"],
        cwd=project.root,
        env={**os.environ, **project.env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 130, result.stdout + result.stderr
    out = json.loads(result.stdout)
    [entry] = project.catalogue()["backups"]
    assert out["error"]["code"] == "interrupted" and entry["id"] in out["message"]
    assert "nothing was recorded" not in out["message"]
    assert (project.root / entry["file"]).exists()  # a listed backup is never deleted
    code, verified = project.run_json("backups", "verify", entry["id"])
    assert code == 0, verified


# The real CLI, with a Ctrl-C while the backup's workspace is being removed (after it
# was recorded), or while the result is being printed.
CTRL_C_DURING = """
import os, shutil, signal, sys
from faber_db import workspace
from faber_db.cli import entry_point

render_module = sys.modules["faber_db.cli.render"]

moment = sys.argv.pop(1)
if moment == "cleanup":
    remove = shutil.rmtree

    def remove_then_interrupt(path, *args, **kwargs):
        if ".faber-partial-" in str(path):
            os.kill(os.getpid(), signal.SIGINT)
        remove(path, *args, **kwargs)

    workspace.shutil.rmtree = remove_then_interrupt
else:
    import json, types

    def dumps_then_interrupt(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)
        return json.dumps(*args, **kwargs)

    # Only the renderer's json: the catalogue and the audit trail write JSON too.
    render_module.json = types.SimpleNamespace(dumps=dumps_then_interrupt, loads=json.loads)
sys.argv[0] = "faber-db"
entry_point()
"""


@pytest.mark.parametrize("engine_name", ["sqlite"], indirect=True)
def test_ctrl_c_after_the_backup_is_recorded_says_so_and_never_ends_in_a_traceback(project):
    project.database.script(["CREATE TABLE t (id INTEGER PRIMARY KEY)", "INSERT INTO t VALUES (1)"])

    def run(moment: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-c", CTRL_C_DURING, moment, "backup", "dev", "--json"],
            cwd=project.root,
            env={**os.environ, **project.env},
            capture_output=True,
            text=True,
            timeout=120,
        )

    during_cleanup = run("cleanup")
    assert during_cleanup.returncode == 130, during_cleanup.stdout + during_cleanup.stderr
    out = json.loads(during_cleanup.stdout)
    [entry] = project.catalogue()["backups"]
    assert entry["id"] in out["message"] and "nothing was recorded" not in out["message"]
    assert (project.root / entry["file"]).exists()

    during_output = run("render")
    assert "Traceback" not in during_output.stderr, during_output.stderr
    assert during_output.returncode == 0, during_output.stderr
    assert json.loads(during_output.stdout)["status"] == "success"
    assert len(project.catalogue()["backups"]) == 2
    audited = (project.config_dir / "audit.jsonl").read_text().splitlines()
    assert (
        sum('"operation": "backup"' in line or '"operation":"backup"' in line for line in audited)
        == 2
    )


def _dump_processes_for(database: str) -> list[str]:
    listing = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return [
        line
        for line in listing.splitlines()
        if database in line and ("dump" in line or "sqlite_tool" in line)
    ]


@pytest.mark.slow
def test_ctrl_c_reports_interruption_and_cleans_up(project):
    load_bulk(project.database, BULK_ROWS[project.database.engine])
    process = start_backup(project, "--compression", "gzip")
    signal_mid_backup(process, project, signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stdout + stderr
    assert '"code": "interrupted"' in stdout
    assert leftover_files(project) == []
    assert project.catalogue()["backups"] == []


@contextlib.contextmanager
def small_filesystem(path: Path, size: str):
    """A tmpfs of `size` at `path` (root only); skips where mounting is impossible
    (fails under CI, which runs as root)."""
    path.mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
    )
    if mounted.returncode != 0:
        skip_outside_ci(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def project_with_backup_dir(tmp_path: Path, database, backup_dir: Path) -> Project:
    project = Project(tmp_path / "project", {"FABER_TEST_DEV_URL": database.url})
    project.root.mkdir()
    config = basic_config(dev="FABER_TEST_DEV_URL")
    config["backup"] = {"directory": str(backup_dir)}
    project.write_config(config)
    return project


@pytest.mark.parametrize("engine_name", ["sqlite", "postgresql"], indirect=True)
def test_refuses_up_front_when_the_disk_is_too_small(database, tmp_path):
    load_random_blobs(database, 12)
    with small_filesystem(tmp_path / "small", "2m") as backups:
        project = project_with_backup_dir(tmp_path, database, backups)
        code, out = project.run_json("backup", "dev")
        assert code == 10, out
        assert out["error"]["code"] == "insufficient_disk_space"
        assert list(backups.rglob("*.zst")) == [] and project.catalogue()["backups"] == []


@pytest.mark.parametrize("engine_name", ["sqlite", "postgresql"], indirect=True)
def test_disk_filling_up_mid_backup_leaves_nothing(database, tmp_path):
    # 30 MiB of random bytes passes the size estimate (<= 27 MiB) on a 28 MiB disk, then fills it.
    load_random_blobs(database, 30)
    with small_filesystem(tmp_path / "small", "28m") as backups:
        project = project_with_backup_dir(tmp_path, database, backups)
        code, out = project.run_json("backup", "dev")
        assert code == 10, out
        assert out["error"]["code"] == "disk_full"
        assert [p for p in backups.rglob("*") if p.is_file()] == []


@pytest.mark.postgresql
def test_missing_native_tool_names_the_tool_and_how_to_install_it(tmp_path, make_database):
    database = make_database("postgresql")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for directory in ("/usr/local/bin", "/usr/bin", "/bin"):
        for tool in Path(directory).iterdir():
            if tool.name not in ("pg_dump",) and not (bin_dir / tool.name).exists():
                (bin_dir / tool.name).symlink_to(tool)
    project = Project(tmp_path / "project", {"FABER_TEST_DEV_URL": database.url})
    project.root.mkdir()
    project.write_config(basic_config(dev="FABER_TEST_DEV_URL"))
    code, out = project.run_json(
        "backup", "dev", env={"PATH": f"{Path(sys.executable).parent}:{bin_dir}"}
    )
    assert code == 9, out
    assert out["error"]["code"] == "tool_missing"
    assert "pg_dump" in out["message"] and "postgresql-client" in " ".join(
        out["recovery"]["suggestions"]
    )
    assert project.catalogue()["backups"] == []


def test_tampered_backup_fails_verification_and_is_marked_invalid(project):
    load_bulk(project.database, 2000)
    code, out = project.run_json("backup", "dev")
    assert code == 0
    path = project.root / out["result"]["file"]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    code, out = project.run_json("backups", "verify", out["result"]["backup_id"])
    assert code == 13, out
    assert out["result"]["status"] == "invalid" or out["error"]["code"] == "backup_invalid"
    assert project.catalogue()["backups"][0]["status"] == "invalid"


def test_truncated_backup_fails_decompression_and_format_checks(project):
    load_bulk(project.database, 5000)
    code, out = project.run_json("backup", "dev")
    assert code == 0
    path = project.root / out["result"]["file"]
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    code, out = project.run_json("backups", "verify", out["result"]["backup_id"])
    assert code == 13
    verification = project.catalogue()["backups"][0]["verification"]
    assert verification["checksum"] == "failed" and verification["decompression"] == "failed"


def test_missing_backup_file_is_marked_missing(project):
    code, out = project.run_json("backup", "dev")
    assert code == 0
    (project.root / out["result"]["file"]).unlink()
    code, _ = project.run_json("backups", "verify", out["result"]["backup_id"])
    assert code == 13
    assert project.catalogue()["backups"][0]["status"] == "missing"


@pytest.mark.parametrize("engine_name", ["sqlite"], indirect=True)
def test_damaged_sqlite_database_is_refused_and_nothing_recorded(project):
    import sqlite3

    path = project.database.conn.database
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
    db.executemany("INSERT INTO t (body) VALUES (?)", [("x" * 200,)] * 2000)
    db.commit()
    page_size = db.execute("PRAGMA page_size").fetchone()[0]
    db.close()
    with open(path, "r+b") as handle:  # scribble over a table page (the copy keeps it)
        handle.seek(page_size * 20 + 8)
        handle.write(b"\xde\xad\xbe\xef" * 64)

    code, out = project.run_json("backup", "dev")

    assert code != 0 and out["status"] == "error", out
    assert "integrity_check" in out["message"], out
    assert project.catalogue().get("backups", []) == []
    env_dir = project.config_dir / "backups" / "dev"
    assert not env_dir.exists() or list(env_dir.iterdir()) == []
