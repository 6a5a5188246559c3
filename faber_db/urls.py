"""Connection URLs: parse them into ConnectionInfo and print them redacted.

Supported: postgresql:// postgres:// mysql:// mariadb:// sqlite:///relative.db
sqlite:////absolute.db. Relative SQLite paths resolve against the project root.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, unquote_plus, urlsplit

from faber_db.credentials import known_secrets, remember_secret
from faber_db.engines import engine_class, engine_of_scheme, url_schemes
from faber_db.errors import InvalidUrlError, UnsupportedUrlError

SECRET_PARAMS = {"password", "sslpassword", "pass"}


@dataclass(frozen=True)
class ConnectionInfo:
    """Where a database lives and how to log in. The password never prints."""

    engine: str
    scheme: str
    database: str
    host: str | None = None
    port: int | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    params: tuple[tuple[str, str], ...] = ()

    def param(self, name: str, default: str | None = None) -> str | None:
        """Return a URL query parameter by name."""
        return dict(self.params).get(name, default)

    def with_database(self, database: str) -> ConnectionInfo:
        """Same server and credentials, another database (or SQLite file)."""
        return replace(self, database=database)

    def redacted(self) -> str:
        """The URL with the password (and any secret parameter) masked."""
        if engine_class(self.engine).file_database:
            return f"{self.scheme}:///" + self.database
        auth = ""
        if self.user:
            auth = quote(self.user, safe="") + (":***" if self.password else "") + "@"
        host = self.host or ""
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        port = f":{self.port}" if self.port else ""
        query = "&".join(
            f"{k}={'***' if k.lower() in SECRET_PARAMS else v}" for k, v in self.params
        )
        return f"{self.scheme}://{auth}{host}{port}/{self.database}" + (
            f"?{query}" if query else ""
        )


def parse_url(url: str, base_dir: Path | None = None) -> ConnectionInfo:
    """Parse a connection URL; relative SQLite paths resolve against base_dir."""
    if not isinstance(url, str) or "://" not in url:
        raise InvalidUrlError(
            "The connection URL is not a URL (expected scheme://...).",
            suggestions=["Use e.g. postgresql://user@host:5432/db or sqlite:///dev.db"],
        )
    scheme = url.split("://", 1)[0].lower()
    engine = engine_of_scheme(scheme)
    if engine is None:
        raise UnsupportedUrlError(
            f"Unsupported URL scheme '{scheme}://'.",
            suggestions=["Supported schemes: " + ", ".join(f"{s}://" for s in url_schemes())],
        )
    if engine_class(engine).file_database:
        return _parse_file(url, scheme, engine, base_dir or Path.cwd())
    return _parse_server(url, scheme, engine)


def _parse_file(url: str, scheme: str, engine: str, base_dir: Path) -> ConnectionInfo:
    rest = url.split("://", 1)[1]
    if not rest.startswith("/"):
        raise InvalidUrlError(
            "A SQLite URL needs three slashes for a relative path (sqlite:///dev.db) "
            "or four for an absolute one (sqlite:////var/data/app.db).",
        )
    raw_path = unquote(rest[1:].split("?", 1)[0])
    if not raw_path or raw_path == ":memory:":
        raise InvalidUrlError("A SQLite URL must name a database file.")
    path = Path(raw_path)
    if not path.is_absolute():
        path = base_dir / path
    return ConnectionInfo(engine=engine, scheme=scheme, database=str(path.resolve()))


def _parse_server(url: str, scheme: str, engine: str) -> ConnectionInfo:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidUrlError(
            f"The connection URL cannot be parsed: {redact_text(str(exc))}"
        ) from None
    database = unquote(parts.path.lstrip("/"))
    if not database or "/" in database:
        raise InvalidUrlError(
            f"The {scheme}:// URL must name one database (…/dbname).",
        )
    params = tuple(parse_qsl(parts.query, keep_blank_values=True))
    for written in parts.query.split("&"):
        key, _, value = written.partition("=")
        if unquote(key).lower() in SECRET_PARAMS:
            remember_secret(unquote_plus(value), value)
    password = unquote(parts.password) if parts.password is not None else None
    # The variable holding the URL holds the password as written, percent-encoded.
    remember_secret(password, parts.password)
    host = parts.hostname or dict(params).get("host") or None
    return ConnectionInfo(
        engine=engine,
        scheme=scheme,
        database=database,
        host=host,
        port=port or engine_class(engine).default_port,
        user=unquote(parts.username) if parts.username else None,
        password=password,
        params=params,
    )


def redact_text(text: str, secrets: list[str] | None = None) -> str:
    """Mask URL passwords and any of the given secret strings inside free text."""
    text = re.sub(r"(://[^:/@\s]*):[^@\s]*@", r"\1:***@", text)
    for secret in [*(secrets or []), *known_secrets()]:
        if secret:
            text = text.replace(secret, "***")
    return text
