"""Verify a backup file: sha256 against the catalogue, a full decompression
test, and the engine's format check (pg_restore -l, the dump trailer, or
PRAGMA integrity_check), all done by the engine's verify-backup handler."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from faber_db.handler_runner import HandlerCall, handler_paths_env, run_handler
from faber_db.timeutil import format_utc, utcnow
from faber_db.workspace import partial_workspace

AGE_HEADER = b"age-encryption.org/v1\n"


@dataclass
class Verification:
    """Outcome of the file checks, stored as the entry's `verification`."""

    checksum: str
    decompression: str
    format: str
    problems: list[str] = field(default_factory=list)
    sha256: str = ""
    # Encrypted backups: "passed" when decrypted now, "skipped" without the identity
    # (then decompression and format are those proven at creation); None: not encrypted.
    decryption: str | None = None

    @property
    def passed(self) -> bool:
        """All three checks passed."""
        return self.checksum == self.decompression == self.format == "passed"

    def to_dict(self) -> dict:
        """Catalogue form (with the original plugin's integrity_check/file_readable)."""
        return {
            "verified_at": format_utc(utcnow()),
            "checksum": self.checksum,
            "decompression": self.decompression,
            "format": self.format,
            "integrity_check": "passed" if self.passed else "failed",
            "file_readable": self.decompression == "passed",
            "problems": list(self.problems),
        } | ({"decryption": self.decryption} if self.decryption else {})


def verify_file(
    engine: str,
    path: Path,
    fmt: str,
    compression: str,
    expected_sha256: str,
    identity: Path | None = None,
) -> Verification:
    """Run the three checks on a backup file (or directory); an encrypted one is
    decrypted in the stream with the age `identity` file."""
    if not path.exists():
        return Verification("failed", "failed", "failed", [f"backup file {path} is missing"])
    with partial_workspace(path.parent) as work:
        env = handler_paths_env(
            file=path, format=fmt, compression=compression, work_dir=work, age_identity=identity
        )
        output = run_handler(HandlerCall(engine, "verify-backup", env))
    problems = list(output["problems"])
    checksum = "passed" if output["sha256"] == expected_sha256 else "failed"
    if checksum == "failed":
        problems.insert(
            0,
            "the file's sha256 differs from the one recorded when it was created (changed or damaged)",
        )
    checks = output["checks"]
    return Verification(
        checksum,
        checks["decompression"],
        checks["format"],
        problems,
        output["sha256"],
        "passed" if identity and checks["decompression"] == "passed" else None,
    )


def verify_sealed(path: Path, expected_sha256: str, at_creation: dict) -> Verification:
    """The checks of an encrypted backup without its identity: the sha256 of the stored
    bytes, and the age header. The same bytes hold the same plaintext (age authenticates
    every chunk), so decompression and format stay as proven at creation."""
    if not path.is_file():
        return Verification("failed", "failed", "failed", [f"backup file {path} is missing"])
    sha256 = _file_sha256(path)
    problems = []
    checksum = "passed" if sha256 == expected_sha256 else "failed"
    if checksum == "failed":
        problems.append(
            "the file's sha256 differs from the one recorded when it was created (changed or damaged)"
        )
    with open(path, "rb") as handle:
        if handle.read(len(AGE_HEADER)) != AGE_HEADER:
            problems.append("the file does not start with the age v1 header")
            checksum = "failed"
    decompression = at_creation.get("decompression", "failed")
    fmt = at_creation.get("format", "failed")
    return Verification(checksum, decompression, fmt, problems, sha256, "skipped")


def backup_sha256(path: Path) -> str | None:
    """The sha256 faber-db records for a backup: of the file, or for a directory
    archive of its sorted "<sha256>  ./<path>" lines (as sha256sum prints them);
    None when it is missing."""
    if path.is_dir():
        return _directory_sha256(path)
    if not path.is_file():
        return None
    return _file_sha256(path)


def is_unchanged(path: Path, expected_sha256: str) -> bool:
    """True when the backup is byte-for-byte the one that passed verification."""
    return backup_sha256(path) == expected_sha256


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _directory_sha256(root: Path) -> str:
    names = sorted(
        os.fsencode("./" + str(p.relative_to(root))) for p in root.rglob("*") if p.is_file()
    )
    lines = b"".join(
        _file_sha256(root / os.fsdecode(name[2:])).encode() + b"  " + name + b"\n" for name in names
    )
    return hashlib.sha256(lines).hexdigest()
