"""Stream one object to or from the repository, with its sha256 checked.

Uploads go through boto3's multipart transfer from a non-seekable reader, so
memory is bounded (at most MAX_PARTS_IN_MEMORY parts of PART_SIZE) and nothing is
copied on disk. Every part carries its SHA256 (ChecksumAlgorithm), which the store
checks on arrival; the reader hashes the same parts, so the store's composite
checksum (sha256 of the parts' sha256s, "-N") proves the stored object is the bytes
that were read, whose full sha256 the reader also computes. A store that returns
no checksum is re-read instead.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import tarfile
import threading
from dataclasses import dataclass
from pathlib import Path

from faber_db.backup_manager.remote.client import remote_errors
from faber_db.backup_manager.remote.settings import RemoteSettings
from faber_db.errors import BackupInvalidError, RemoteFailedError

PART_SIZE = 8 * 1024 * 1024
MAX_PARTS = 9000  # S3 allows 10,000; the part size grows with the file instead
MAX_PARTS_IN_MEMORY = 4
CONCURRENCY = 4
READ_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class StoredObject:
    """An object in the repository, as verified: its key, sha256 and size."""

    key: str
    sha256: str
    size: int


class HashingReader(io.RawIOBase):
    """Reads a stream while computing its sha256 and the sha256 of each part."""

    def __init__(self, source, part_size: int) -> None:
        self.source, self.part_size = source, part_size
        self.full = hashlib.sha256()
        self.part, self.part_filled, self.parts = hashlib.sha256(), 0, []
        self.size = 0

    def readable(self) -> bool:
        """A reader, never seekable (boto3 then streams it part by part)."""
        return True

    def read(self, size: int = -1) -> bytes:
        """Read from the source, hashing what is returned."""
        data = self.source.read(size)
        self.full.update(data)
        self.size += len(data)
        view = memoryview(data)
        while view:
            take = min(len(view), self.part_size - self.part_filled)
            self.part.update(view[:take])
            self.part_filled += take
            view = view[take:]
            if self.part_filled == self.part_size:
                self._close_part()
        return data

    def _close_part(self) -> None:
        self.parts.append(self.part.digest())
        self.part, self.part_filled = hashlib.sha256(), 0

    def checksums(self) -> set[str]:
        """The S3 SHA256 checksums these bytes can have: whole-object and composite."""
        parts = self.parts + ([self.part.digest()] if self.part_filled else [])
        whole = base64.b64encode(self.full.digest()).decode()
        composite = base64.b64encode(hashlib.sha256(b"".join(parts)).digest()).decode()
        return {whole, f"{composite}-{len(parts)}", f"{whole}-1"}


def part_size_for(size: int) -> int:
    """The part size for an object of about `size` bytes (at most MAX_PARTS parts)."""
    needed = -(-size // MAX_PARTS)
    return max(PART_SIZE, -(-needed // (1024 * 1024)) * 1024 * 1024)


def upload_stream(client, settings: RemoteSettings, source, key: str, size_hint: int):
    """Upload `source` (a readable binary stream) to `key`, then verify the stored
    object's size and sha256; the StoredObject, or RemoteFailedError."""
    from boto3.s3.transfer import TransferConfig

    part = part_size_for(size_hint)
    reader = HashingReader(source, part)
    transfer = TransferConfig(
        multipart_threshold=part,
        multipart_chunksize=part,
        max_concurrency=CONCURRENCY,
        max_io_queue=MAX_PARTS_IN_MEMORY,
    )
    # Parts read ahead from a non-seekable stream (boto3's own default is 10).
    transfer.max_in_memory_upload_chunks = MAX_PARTS_IN_MEMORY
    with remote_errors(settings, f"uploading {key}"):
        client.upload_fileobj(
            reader,
            settings.bucket,
            key,
            ExtraArgs={"ChecksumAlgorithm": "SHA256"},
            Config=transfer,
        )
        head = client.head_object(Bucket=settings.bucket, Key=key, ChecksumMode="ENABLED")
    stored = StoredObject(key, reader.full.hexdigest(), reader.size)
    check_stored(client, settings, stored, head, reader.checksums())
    return stored


def check_stored(client, settings, stored: StoredObject, head: dict, checksums: set[str]) -> None:
    """Refuse a stored object whose size or checksum is not the one uploaded."""
    problem = None
    if head.get("ContentLength") != stored.size:
        problem = f"{head.get('ContentLength')} bytes stored, {stored.size} sent"
    elif head.get("ChecksumSHA256"):
        if head["ChecksumSHA256"] not in checksums:
            problem = "the stored SHA256 checksum differs from the bytes sent"
    elif download_sha256(client, settings, stored.key) != stored.sha256:
        problem = "a re-read of the stored object has another sha256"
    if problem:
        raise RemoteFailedError(
            f"The remote copy {stored.key} does not match the backup: {problem}.",
            suggestions=["faber-db backups sync  (uploads it again)"],
        )


def upload_path(client, settings: RemoteSettings, path: Path, key: str) -> StoredObject:
    """Upload a backup file, or a directory archive as one uncompressed tar stream."""
    if not path.is_dir():
        with open(path, "rb") as handle:
            return upload_stream(client, settings, handle, key, path.stat().st_size)
    size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    read_end, write_end = os.pipe()
    failure: list[BaseException] = []
    writer = threading.Thread(target=_write_tar, args=(path, write_end, failure), daemon=True)
    writer.start()
    try:
        with open(read_end, "rb") as reader:
            stored = upload_stream(client, settings, reader, key, size)
    finally:
        writer.join()
    if failure:
        raise RemoteFailedError(f"Could not archive {path} for the upload: {failure[0]}")
    return stored


def _write_tar(root: Path, fd: int, failure: list[BaseException]) -> None:
    try:
        with (
            open(fd, "wb") as out,
            tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar,
        ):
            for file in sorted(p for p in root.rglob("*") if p.is_file()):
                tar.add(file, arcname=str(file.relative_to(root)), recursive=False)
    except (OSError, tarfile.TarError) as exc:
        failure.append(exc)


def download_sha256(client, settings: RemoteSettings, key: str) -> str:
    """The sha256 of a stored object, read back in full."""
    digest = hashlib.sha256()
    with remote_errors(settings, f"reading {key}"):
        body = client.get_object(Bucket=settings.bucket, Key=key)["Body"]
        for chunk in iter(lambda: body.read(READ_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download_to(
    client, settings: RemoteSettings, obj: StoredObject, dest: Path, archive: bool
) -> None:
    """Stream `obj` into `dest` (a file, or a directory the tar is unpacked into),
    refusing it (BackupInvalidError) unless its sha256 and size are the recorded ones."""
    with remote_errors(settings, f"downloading {obj.key}"):
        body = client.get_object(Bucket=settings.bucket, Key=obj.key)["Body"]
        reader = HashingReader(body, PART_SIZE)
        if archive:
            dest.mkdir(mode=0o700)
            with tarfile.open(fileobj=reader, mode="r|") as tar:
                tar.extractall(dest, filter="data")
            while reader.read(READ_CHUNK):
                pass
        else:
            with open(dest, "wb") as out:
                for chunk in iter(lambda: reader.read(READ_CHUNK), b""):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
    if reader.full.hexdigest() != obj.sha256 or reader.size != obj.size:
        raise BackupInvalidError(
            f"The remote copy {obj.key} is not the one that was verified when it was uploaded "
            f"(sha256 {reader.full.hexdigest()[:12]}..., {reader.size} bytes; recorded "
            f"{obj.sha256[:12]}..., {obj.size} bytes): it was overwritten or damaged. "
            "It was not used; nothing was touched.",
            suggestions=["faber-db backups list", "Restore another backup: faber-db backups list"],
        )
