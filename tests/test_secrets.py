"""Passwords never appear in any process's arguments or environment, in output,
in logs or in backups.json, and the private credential files are removed."""

from __future__ import annotations

import glob
import os
import subprocess
import sys
import threading
import time

import pytest
from bulk_data import load_bulk
from support import SERVER_URLS, Database, Project, basic_config, server_url, unique_name

PASSWORD = "S3cr3t-pa55-" + "x7Qz"


def create_user(database, user: str) -> None:
    """A password-authenticated user that can read (and so back up) the database."""
    if database.engine == "postgresql":
        database.script(
            [
                f"CREATE ROLE {user} LOGIN PASSWORD '{PASSWORD}'",
                f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {user}",
                f"GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO {user}",
            ]
        )
    else:
        database.script(
            [
                f"CREATE USER '{user}'@'%' IDENTIFIED BY '{PASSWORD}'",
                f"CREATE USER '{user}'@'localhost' IDENTIFIED BY '{PASSWORD}'",
                f"GRANT ALL ON `{database.conn.database}`.* TO '{user}'@'%'",
                f"GRANT ALL ON `{database.conn.database}`.* TO '{user}'@'localhost'",
            ]
        )


def drop_user(database, user: str) -> None:
    """Remove the user (its grants first, on PostgreSQL)."""
    if database.engine == "postgresql":
        database.script([f"DROP OWNED BY {user}"])
        Database("postgresql", SERVER_URLS["postgresql"]).script([f"DROP ROLE IF EXISTS {user}"])
    else:
        database.script(
            [f"DROP USER IF EXISTS '{user}'@'%'", f"DROP USER IF EXISTS '{user}'@'localhost'"]
        )


class ProcessSampler(threading.Thread):
    """Records any process whose argv, or environment, holds the password.

    The faber-db process itself is exempt from the environment check only: the
    user hands it the URL in an environment variable. Its children must not
    inherit it, and nobody's argv may show it.
    """

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.leaks: list[str] = []
        self.samples = 0
        self.exempt_pid: int | None = None

    def run(self) -> None:
        while not self.stop.is_set():
            for path in glob.glob("/proc/[0-9]*"):
                self._sample(path)
            self.samples += 1
            time.sleep(0.005)

    def _sample(self, path: str) -> None:
        cmdline = _read(f"{path}/cmdline")
        if PASSWORD.encode() in cmdline:
            self.leaks.append(f"{path}/cmdline: {cmdline[:300]!r}")
        if path.rsplit("/", 1)[-1] == str(os.getpid()) or self._is_faber_db(path, cmdline):
            return
        environ = _read(f"{path}/environ")
        if PASSWORD.encode() in environ:
            self.leaks.append(f"{path}/environ (cmdline {cmdline[:200]!r}): {environ[:200]!r}")

    def _is_faber_db(self, path: str, cmdline: bytes) -> bool:
        # faber-db itself, and a fork of it in the instant before exec replaces
        # its image (same command line, same memory): neither is a new holder.
        exempt = _read(f"/proc/{self.exempt_pid}/cmdline") if self.exempt_pid else b""
        return path == f"/proc/{self.exempt_pid}" or (bool(exempt) and cmdline == exempt)


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return b""


@pytest.mark.parametrize("engine", ["postgresql", "mysql"])
def test_password_never_leaks(engine, make_database, tmp_path):
    database = make_database(engine)
    load_bulk(database, 200_000)
    user = unique_name("faber_pw")
    create_user(database, user)
    try:
        url = server_url(database.conn, database.conn.database, user=user, password=PASSWORD)
        project = Project(tmp_path / "project", {"FABER_TEST_DEV_URL": url})
        project.root.mkdir()
        project.write_config(basic_config(dev="FABER_TEST_DEV_URL"))
        sampler = ProcessSampler()
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "faber_db",
                "backup",
                "dev",
                "--compression",
                "gzip",
                "--json",
                "-v",
            ],
            cwd=project.root,
            env={**os.environ, **project.env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        sampler.exempt_pid = process.pid
        sampler.start()
        try:
            stdout, stderr = process.communicate(timeout=300)
        finally:
            sampler.stop.set()
            sampler.join()
        assert process.returncode == 0, stdout + stderr
        assert sampler.samples > 10
        assert sampler.leaks == []
        assert PASSWORD not in stdout and PASSWORD not in stderr
        assert PASSWORD not in project.catalogue_path.read_text()
        assert "***" in stdout  # the URL is shown redacted
        assert not glob.glob("/tmp/faber-db-*/pgpass") and not glob.glob("/tmp/faber-db-*/my.cnf")
        for path in (project.config_dir / "backups").rglob("*"):
            if path.is_file() and path.suffix not in (".zst", ".gz"):
                assert PASSWORD not in path.read_text(errors="ignore")
    finally:
        drop_user(database, user)


def test_error_messages_redact_urls(tmp_path):
    project = Project(
        tmp_path / "project",
        {"FABER_TEST_DEV_URL": f"postgresql://someone:{PASSWORD}@127.0.0.1:1/nodb"},
    )
    project.root.mkdir()
    project.write_config(basic_config(dev="FABER_TEST_DEV_URL"))
    output = project.run("backup", "dev", "--json")
    assert output.returncode == 7
    assert PASSWORD not in output.stdout + output.stderr
