"""Passwords never appear in any process's arguments or environment, in output,
in logs or in backups.json, and the private credential files are removed."""

from __future__ import annotations

import glob
import json
import os
import re
import subprocess
import sys
import threading
import time
from urllib.parse import quote, quote_plus

import pytest
from bulk_data import load_bulk
from support import SERVER_URLS, Database, Project, basic_config, server_url, unique_name

PASSWORD = "S3cr3t-pa55-" + "x7Qz"
# Every character here must be percent-encoded in a URL (issue 10, section 6): the
# variable holding the URL carries it encoded, and children must not get that either.
ENCODED_PASSWORD = "p@ss:w/rd%20#" + "Qz7+&="


def password_forms(password: str) -> list[str]:
    """The password raw and in every percent-encoding a URL or form may hold it."""
    forms = {
        password,
        quote(password, safe=""),
        quote(password),
        quote_plus(password, safe=""),
        quote_plus(password),
    }
    forms |= {re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), form) for form in forms}
    return sorted(forms)


def create_user(database, user: str, password: str = PASSWORD) -> None:
    """A password-authenticated user that can read (and so back up) the database."""
    if database.engine == "postgresql":
        database.script(
            [
                f"CREATE ROLE {user} LOGIN PASSWORD '{password}'",
                f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {user}",
                f"GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO {user}",
            ]
        )
    else:
        database.script(
            [
                f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'",
                f"CREATE USER '{user}'@'localhost' IDENTIFIED BY '{password}'",
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

    def __init__(self, passwords: list[str] | None = None) -> None:
        super().__init__(daemon=True)
        self.needles = [p.encode() for p in passwords or [PASSWORD]]
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
        if any(needle in cmdline for needle in self.needles):
            self.leaks.append(f"{path}/cmdline: {cmdline[:300]!r}")
        if path.rsplit("/", 1)[-1] == str(os.getpid()) or self._is_faber_db(path, cmdline):
            return
        environ = _read(f"{path}/environ")
        if any(needle in environ for needle in self.needles):
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
        code, stdout, stderr, sampler = run_sampled(
            project, [PASSWORD], "backup", "dev", "--compression", "gzip"
        )
        assert code == 0, stdout + stderr
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


def make_restorable_by(database, user: str) -> None:
    """Let `user` restore the database in place: own it (PostgreSQL), or create and
    drop the scratch schemas named after it (MySQL)."""
    if database.engine == "postgresql":
        name = database.conn.database
        database.script([f"ALTER DATABASE {name} OWNER TO {user}"])
        database.script(
            [f"ALTER TABLE bulk OWNER TO {user}", f"ALTER SEQUENCE bulk_id_seq OWNER TO {user}"]
        )
    else:
        pattern = database.conn.database.replace("_", "\\_") + "%"
        database.script(
            [
                f"GRANT ALL ON `{pattern}`.* TO '{user}'@'%'",
                f"GRANT ALL ON `{pattern}`.* TO '{user}'@'localhost'",
            ]
        )


def run_sampled(project, passwords: list[str], *args: str) -> tuple[int, str, str, ProcessSampler]:
    """Run `faber-db ARGS` while sampling every process's argv and environment."""
    sampler = ProcessSampler(passwords)
    process = subprocess.Popen(
        [sys.executable, "-m", "faber_db", *args, "--json", "-v"],
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
    return process.returncode, stdout, stderr, sampler


@pytest.mark.parametrize("engine", ["postgresql", "mysql"])
def test_percent_encoded_password_never_leaks(engine, make_database, tmp_path):
    database = make_database(engine)
    load_bulk(database, 100_000)
    user = unique_name("faber_pw")
    forms = password_forms(ENCODED_PASSWORD)
    create_user(database, user, ENCODED_PASSWORD)
    try:
        make_restorable_by(database, user)
        url = server_url(
            database.conn, database.conn.database, user=user, password=ENCODED_PASSWORD
        )
        assert "%40" in url and ENCODED_PASSWORD not in url  # the variable holds it encoded
        project = Project(tmp_path / "project", {"FABER_TEST_DEV_URL": url})
        project.root.mkdir()
        project.write_config(basic_config(dev="FABER_TEST_DEV_URL"))
        outputs = []
        for args in (
            ("backup", "dev", "--compression", "zstd"),
            ("restore", "dev", "--from", "{backup}", "--yes"),
        ):
            if outputs:
                backup = json.loads(outputs[0][1])["result"]["backup_id"]
                args = tuple(a.replace("{backup}", backup) for a in args)
            code, stdout, stderr, sampler = run_sampled(project, forms, *args)
            assert code == 0, stdout + stderr
            assert sampler.samples > 10
            assert sampler.leaks == [], args
            outputs.append((code, stdout, stderr))
        assert database.execute("SELECT COUNT(*) FROM bulk") == [(100_000,)]
        written = [out + err for _, out, err in outputs] + [project.catalogue_path.read_text()]
        audit = project.config_dir / "audit.jsonl"
        if audit.exists():
            written.append(audit.read_text())
        for path in (project.config_dir / "backups").rglob("*"):
            if path.is_file() and path.suffix not in (".zst", ".gz"):
                written.append(path.read_text(errors="ignore"))
        for text in written:
            assert not [form for form in forms if form in text]
    finally:
        if engine == "postgresql":
            database.script([f"ALTER DATABASE {database.conn.database} OWNER TO postgres"])
        drop_user(database, user)


def test_the_age_private_key_never_leaks(make_database, tmp_path):
    """An encrypted backup and its restore: the identity's secret key is in no process's
    argv or environment (age gets the file's path), nor in any output or file we write."""
    if subprocess.run(["sh", "-c", "command -v age-keygen"], capture_output=True).returncode:
        pytest.fail("age is not installed (apt-get install age)")
    database = make_database("sqlite")
    load_bulk(database, 50_000)
    identity = tmp_path / "identity.txt"
    subprocess.run(["age-keygen", "-o", str(identity)], check=True, capture_output=True)
    identity.chmod(0o600)
    secret = next(
        line for line in identity.read_text().splitlines() if line.startswith("AGE-SECRET-KEY-")
    )
    public = subprocess.run(
        ["age-keygen", "-y", str(identity)], check=True, capture_output=True, text=True
    ).stdout.strip()
    project = Project(
        tmp_path / "project",
        {"FABER_TEST_DEV_URL": database.url, "FABER_DB_AGE_IDENTITY": str(identity)},
    )
    project.root.mkdir()
    config = basic_config(dev="FABER_TEST_DEV_URL")
    config["backup"] = {"encryption": {"recipients": [public]}}
    project.write_config(config)

    code, stdout, stderr, sampler = run_sampled(project, [secret], "backup", "dev")
    assert code == 0, stdout + stderr
    backup = json.loads(stdout)["result"]["backup_id"]
    code, stdout2, stderr2, restore_sampler = run_sampled(
        project, [secret], "restore", "dev", "--from", backup, "--yes"
    )
    assert code == 0, stdout2 + stderr2
    assert sampler.leaks == [] and restore_sampler.leaks == []
    assert restore_sampler.samples > 10
    assert secret not in stdout + stderr + stdout2 + stderr2
    for path in project.root.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


def test_s3_secret_never_leaks(tmp_path, s3_server, s3_bucket):
    """The repository's secret key: in no argv, no child's environment, no output,
    catalogue, audit line or object in the bucket; nor a wrong one in an error."""
    from s3_support import SECRET_KEY, credentials_env, use_remote
    from support import create_database, drop_database

    database = create_database("sqlite", tmp_path)
    try:
        load_bulk(database, 20_000)
        project = Project(tmp_path / "project", {"FABER_TEST_DEV_URL": database.url})
        project.root.mkdir()
        project.write_config(basic_config(dev="FABER_TEST_DEV_URL"))
        use_remote(project, s3_server, s3_bucket)

        code, stdout, stderr, sampler = run_sampled(project, [SECRET_KEY], "backup", "dev")

        assert code == 0, stdout + stderr
        assert sampler.samples > 10 and sampler.leaks == []
        assert SECRET_KEY not in stdout + stderr
        for path in project.config_dir.rglob("*"):
            if path.is_file() and path.suffix not in (".zst", ".gz"):
                assert SECRET_KEY not in path.read_text(errors="ignore"), path
        client = s3_server.client()
        for item in client.list_objects_v2(Bucket=s3_bucket)["Contents"]:
            if item["Key"].endswith(".json"):
                body = client.get_object(Bucket=s3_bucket, Key=item["Key"])["Body"].read()
                assert SECRET_KEY.encode() not in body

        wrong = "wrong-" + SECRET_KEY[::-1]
        project.env.update(credentials_env(secret=wrong))
        code, stdout, stderr, sampler = run_sampled(project, [wrong], "backups", "sync")
        assert code == 25 and sampler.leaks == [], stdout + stderr
        assert wrong not in stdout + stderr
    finally:
        drop_database(database)
