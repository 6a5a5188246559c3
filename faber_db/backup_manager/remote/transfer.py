"""Stream one object to or from the repository, with its sha256 checked.

Uploads are S3 multipart uploads driven here (boto3's client, our loop): parts of
PART_SIZE, CONCURRENCY in flight and at most MAX_PARTS_IN_MEMORY read ahead, so
memory is bounded and nothing is copied on disk. Every part carries its SHA256
(ChecksumSHA256), which the store checks on arrival; the same digest signs the
request (client.py), so each byte is hashed once for the part and once for the
whole object's sha256. The store's composite checksum (sha256 of the parts'
sha256s, "-N") then proves the stored object is the bytes that were read. A store
that returns no checksum is re-read instead. (boto3's managed transfer would hash
every byte three or four times: its checksum, the signature, and ours.)
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import os
import tarfile
import threading
from concurrent.futures import ThreadPoolExecutor
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
    """Reads a stream while computing its sha256 and size (downloads)."""

    def __init__(self, source) -> None:
        self.source, self.full, self.size = source, hashlib.sha256(), 0

    def readable(self) -> bool:
        """A reader, never seekable."""
        return True

    def read(self, size: int = -1) -> bytes:
        """Read from the source, hashing what is returned."""
        data = self.source.read(size)
        self.full.update(data)
        self.size += len(data)
        return data


def composite_checksum(digests: list[bytes]) -> str:
    """S3's composite SHA256 of a multipart object: of its parts' digests, then -N."""
    return f"{_b64(hashlib.sha256(b''.join(digests)).digest())}-{len(digests)}"


def part_size_for(size: int) -> int:
    """The part size for an object of about `size` bytes (at most MAX_PARTS parts)."""
    needed = -(-size // MAX_PARTS)
    return max(PART_SIZE, -(-needed // (1024 * 1024)) * 1024 * 1024)


def upload_stream(client, settings: RemoteSettings, source, key: str, size_hint: int):
    """Upload `source` (a readable binary stream) to `key`, then verify the stored
    object's size and sha256; the StoredObject, or RemoteFailedError."""
    part_size = part_size_for(size_hint)
    full, first = hashlib.sha256(), read_exactly(source, part_size)
    with remote_errors(settings, f"uploading {key}"):
        if len(first) < part_size:
            full.update(first)
            digest = hashlib.sha256(first).digest()
            client.put_object(
                Bucket=settings.bucket, Key=key, Body=first, ChecksumSHA256=_b64(digest)
            )
            size, checksums = len(first), {_b64(digest), f"{_b64(digest)}-1"}
        else:
            size, digests = _multipart(client, settings, source, key, first, part_size, full)
            checksums = {composite_checksum(digests)}
        head = client.head_object(Bucket=settings.bucket, Key=key, ChecksumMode="ENABLED")
    stored = StoredObject(key, full.hexdigest(), size)
    check_stored(client, settings, stored, head, checksums)
    return stored


def _multipart(client, settings, source, key: str, data: bytes, part_size: int, full):
    """Upload part after part, CONCURRENCY at a time and at most MAX_PARTS_IN_MEMORY
    read ahead; the size and each part's sha256. Aborted on any failure."""
    bucket = settings.bucket
    upload = client.create_multipart_upload(Bucket=bucket, Key=key, ChecksumAlgorithm="SHA256")
    upload_id, futures, size = upload["UploadId"], [], 0
    slots = threading.BoundedSemaphore(MAX_PARTS_IN_MEMORY)
    try:
        with ThreadPoolExecutor(CONCURRENCY, thread_name_prefix="faber-upload") as pool:
            while data and not any(f.done() and f.exception() for f in futures):
                full.update(data)
                size += len(data)
                slots.acquire()
                number = len(futures) + 1
                future = pool.submit(_upload_part, client, bucket, key, upload_id, number, data)
                future.add_done_callback(lambda _: slots.release())
                futures.append(future)
                data = read_exactly(source, part_size)
            parts = [future.result() for future in futures]
        client.complete_multipart_upload(
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={"Parts": [part for part, _ in parts]},
        )
    except BaseException:
        _abort(client, bucket, key, upload_id)
        raise
    return size, [digest for _, digest in parts]


def _upload_part(client, bucket: str, key: str, upload_id: str, number: int, data: bytes):
    """One part with its SHA256, which the store checks and the signature reuses."""
    digest = hashlib.sha256(data).digest()
    response = client.upload_part(
        Bucket=bucket,
        Key=key,
        UploadId=upload_id,
        PartNumber=number,
        Body=data,
        ChecksumSHA256=_b64(digest),
    )
    part = {"ETag": response["ETag"], "PartNumber": number, "ChecksumSHA256": _b64(digest)}
    return part, digest


def _abort(client, bucket: str, key: str, upload_id: str) -> None:
    """Best effort: a store that cannot be reached keeps the parts until `backups sync`
    aborts them."""
    from botocore.exceptions import BotoCoreError, ClientError

    with contextlib.suppress(BotoCoreError, ClientError):
        client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)


def read_exactly(source, size: int) -> bytes:
    """Up to `size` bytes, fewer only at the end of the stream."""
    chunks, wanted = [], size
    while wanted:
        chunk = source.read(wanted)
        if not chunk:
            break
        chunks.append(chunk)
        wanted -= len(chunk)
    return b"".join(chunks) if len(chunks) != 1 else chunks[0]


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


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
        reader = HashingReader(body)
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
