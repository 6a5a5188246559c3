"""backup.remote: where the repository is and how this project uses it."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from faber_db.credentials import remember_secret
from faber_db.errors import ConfigInvalidError, MissingEnvVarError

if TYPE_CHECKING:
    from faber_db.config import Config

ENV_VAR_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class RemoteSettings:
    """The backup.remote section, defaults filled in."""

    bucket: str
    prefix: str = ""
    endpoint_url: str | None = None
    region: str | None = None
    keep_local: bool = True
    required: tuple[str, ...] = ()
    access_key_env: str | None = None
    secret_key_env: str | None = None
    type: str = "s3"

    @property
    def location(self) -> str:
        """s3://bucket/prefix, for messages (never a credential)."""
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")

    def is_required(self, env: str) -> bool:
        """True when a backup of `env` only counts once its remote copy is verified."""
        return env in self.required

    def credentials(self) -> dict[str, str]:
        """boto3 keyword arguments from access_key_env/secret_key_env, or {} for the
        standard AWS chain. The values are read here and go nowhere else."""
        if not (self.access_key_env or self.secret_key_env):
            return {}
        names = {
            "aws_access_key_id": self.access_key_env,
            "aws_secret_access_key": self.secret_key_env,
        }
        values = {}
        for argument, name in names.items():
            value = os.environ.get(name or "")
            if not name or not value:
                raise MissingEnvVarError(
                    f"backup.remote names {name or '(nothing)'} for its {argument.split('_', 1)[1]} "
                    "but that variable is not set.",
                    suggestions=[
                        f"export {name}=...",
                        "Or remove access_key_env/secret_key_env "
                        "to use the standard AWS credential chain",
                    ],
                )
            values[argument] = value
        return values


def remote_settings(config: Config) -> RemoteSettings | None:
    """The repository of this project, or None when backup.remote is not configured."""
    section = config.section("backup").get("remote")
    if not section:
        return None
    for key in ("access_key_env", "secret_key_env"):
        name = section.get(key)
        if name is not None and not ENV_VAR_RE.match(name):
            raise ConfigInvalidError(f"backup.remote.{key} must name an environment variable.")
    # Known from now on, so no native tool started later inherits the secret key's
    # variable and no message prints it (credentials.known_secrets).
    remember_secret(os.environ.get(section.get("secret_key_env") or "AWS_SECRET_ACCESS_KEY"))
    return RemoteSettings(
        bucket=section["bucket"],
        prefix=str(section.get("prefix") or "").strip("/"),
        endpoint_url=section.get("endpoint_url"),
        region=section.get("region"),
        keep_local=section.get("keep_local", True),
        required=tuple(section.get("required", ())),
        access_key_env=section.get("access_key_env"),
        secret_key_env=section.get("secret_key_env"),
        type=section.get("type", "s3"),
    )
