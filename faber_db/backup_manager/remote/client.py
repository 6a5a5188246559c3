"""The boto3 client of the repository, and what its errors mean for a person.

boto3 is imported here only, and only when a remote is configured, so that
`faber-db --help` and local-only commands never pay for it.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

from faber_db.backup_manager.remote.settings import RemoteSettings
from faber_db.errors import RemoteFailedError

CONNECT_TIMEOUT_SECONDS = 5
READ_TIMEOUT_SECONDS = 60
AUTH_CODES = {
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId",
    "AccessDenied",
    "InvalidToken",
    "ExpiredToken",
    "AuthorizationHeaderMalformed",
    "403",
}
MISSING_BUCKET_CODES = {"NoSuchBucket"}


_CREATING = threading.Lock()


def make_client(settings: RemoteSettings):
    """A boto3 S3 client for the repository (path-style addressing for custom endpoints);
    one per process and repository: importing boto3 and creating a client costs
    0.3 s on a quiet machine, over a second on a loaded one."""
    with _CREATING:
        return _client(settings)


def warm_client(settings: RemoteSettings) -> None:
    """Create the client in the background (a backup does this while its dump runs, so
    the upload does not wait for boto3). A failure here is left for the real call."""

    def create() -> None:
        try:
            make_client(settings)
        except Exception:  # noqa: BLE001 - make_client raises it again where it is handled
            return

    threading.Thread(target=create, name="faber-s3-client", daemon=True).start()


@cache
def _client(settings: RemoteSettings):
    import boto3
    from botocore.config import Config as BotoConfig

    config = BotoConfig(
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
        retries={"max_attempts": 3, "mode": "standard"},
        s3={"addressing_style": "path"} if settings.endpoint_url else {},
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    client = boto3.client(
        "s3",
        endpoint_url=settings.endpoint_url,
        region_name=settings.region or "us-east-1",
        config=config,
        **settings.credentials(),
    )
    client.meta.events.register("before-sign.s3", sign_with_checksum)
    return client


def sign_with_checksum(request, **_) -> None:
    """A request carrying the SHA256 of its body (x-amz-checksum-sha256) is signed with
    that digest instead of hashing the body again (over http botocore signs payloads)."""
    checksum = request.headers.get("x-amz-checksum-sha256")
    if checksum and "X-Amz-Content-SHA256" not in request.headers:
        request.headers["X-Amz-Content-SHA256"] = base64.b64decode(checksum).hex()


def error_code(exc: BaseException) -> str | None:
    """The S3 error code of a botocore ClientError (None for other errors)."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None
    return str(response.get("Error", {}).get("Code") or "") or None


@contextmanager
def remote_errors(settings: RemoteSettings, doing: str) -> Iterator[None]:
    """botocore/boto3 errors inside become a RemoteFailedError saying what failed and
    what to check. The message never carries a credential (botocore's never does)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        raise _client_failure(settings, doing, exc) from None
    except BotoCoreError as exc:
        raise RemoteFailedError(
            f"The remote repository {settings.location} could not be reached while {doing}: {exc}.",
            suggestions=[
                f"Check that {settings.endpoint_url or 'the S3 endpoint'} is up and reachable",
                "faber-db backups sync  (uploads what is missing once it is back)",
            ],
        ) from None


def _client_failure(settings: RemoteSettings, doing: str, exc) -> RemoteFailedError:
    code = error_code(exc) or "unknown"
    if code in AUTH_CODES:
        where = (
            f"{settings.access_key_env}/{settings.secret_key_env}"
            if settings.access_key_env
            else "the AWS credential chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE)"
        )
        return RemoteFailedError(
            f"The remote repository {settings.location} refused the credentials while {doing} "
            f"({code}).",
            suggestions=[f"Check the access key and secret key in {where}"],
            details={"s3_error": code},
        )
    if code in MISSING_BUCKET_CODES:
        return RemoteFailedError(
            f"The bucket {settings.bucket} does not exist at "
            f"{settings.endpoint_url or 'the S3 endpoint'} ({doing}).",
            suggestions=[
                f"Create the bucket {settings.bucket}, or correct backup.remote.bucket",
            ],
            details={"s3_error": code},
        )
    return RemoteFailedError(
        f"The remote repository {settings.location} answered {code} while {doing}: "
        f"{exc.response.get('Error', {}).get('Message', '')}".rstrip(": "),
        suggestions=["Check the repository's settings (backup.remote) and the server's log"],
        details={"s3_error": code},
    )
