"""The project's config as the guard needs it: which environments are protected,
how each one's database is reached, and where faber-db keeps its records.

A minimal reader on purpose: faber_db.config validates against the JSON Schema
(jsonschema costs more start-up than the whole guard may take), while the
guard only needs a few keys and must never fail open on a config it cannot
validate. The rules it mirrors (which environments are protected, the default
URL variable) are checked against faber_db.config by the tests.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

CONFIG_DIR = Path(".fractary/plugins/faber-db")
CONFIG_NAMES = ("config.json", "config.yaml", "config.yml")
DEFAULT_URL_VARS = {"production": "PROD_DATABASE_URL"}
LOCAL_HOSTS = {"", "localhost", "127.0.0.1", "::1", "[::1]"}


class ProjectConfigError(ValueError):
    """The project's config exists but cannot be read."""


class ProtectedEnv:
    """One protected environment and the ways a command can name its database."""

    def __init__(self, name, variable, url, host, database, sqlite_path) -> None:
        self.name: str = name
        self.variable: str = variable
        self.url: str | None = url
        self.host: str | None = host
        self.database: str | None = database
        self.sqlite_path: Path | None = sqlite_path


class Project:
    """A faber-db project found from a working directory."""

    def __init__(self, config_path: Path, root: Path, data: dict, environ: dict) -> None:
        self.config_path = config_path
        self.root = root
        self.data = data
        self.environ = environ
        self.protected: list[ProtectedEnv] = []

    @property
    def faber_dir(self) -> Path:
        """.fractary/plugins/faber-db under the project root."""
        return self.root / CONFIG_DIR

    @property
    def state_dir(self) -> Path:
        """faber-db's private state (as faber_db.config.Config.state_dir)."""
        return self.faber_dir / "state"

    @property
    def backups_dir(self) -> Path:
        """Backups and backups.json (as faber_db.config.Config.backups_dir)."""
        return self._path(_section(self.data, "backup").get("directory"), CONFIG_DIR / "backups")

    @property
    def audit_path(self) -> Path:
        """The audit trail (as faber_db.config.Config.audit_path)."""
        return self._path(_section(self.data, "audit").get("path"), CONFIG_DIR / "audit.jsonl")

    def is_protected(self, env: str) -> bool:
        """As faber_db.config.Config.is_protected."""
        return is_protected(self.data, env)

    def protected_env(self, env: str | None) -> ProtectedEnv | None:
        """The protected environment of that name, if it is one."""
        return next((p for p in self.protected if p.name == env), None)

    def _path(self, configured, default: Path) -> Path:
        path = Path(configured) if isinstance(configured, str) and configured else default
        return path if path.is_absolute() else self.root / path


def is_protected(data: dict, env: str) -> bool:
    """True when mutating commands on env need approval (mirrors faber_db.config)."""
    protected = _section(data, "safety").get("protected_environments", ["production"])
    settings = _section(data, "environments").get(env)
    return env in protected or bool(isinstance(settings, dict) and settings.get("require_approval"))


def default_url_variable(env: str) -> str:
    """DEV_DATABASE_URL for dev, PROD_DATABASE_URL for production (mirrors faber_db.config)."""
    return DEFAULT_URL_VARS.get(env, env.upper().replace("-", "_") + "_DATABASE_URL")


def find_config(start: Path) -> Path | None:
    """Walk up from start looking for .fractary/plugins/faber-db/config.{json,yaml,yml}."""
    try:
        directory = start.resolve()
    except OSError:
        return None
    for candidate_dir in (directory, *directory.parents):
        for name in CONFIG_NAMES:
            candidate = candidate_dir / CONFIG_DIR / name
            if candidate.is_file():
                return candidate
    return None


def load_project(start: Path, environ: dict) -> Project | None:
    """The project whose config is found from start, or None outside any project."""
    path = find_config(start)
    if path is None:
        return None
    return project_from(path, environ)


def project_from(path: Path, environ: dict) -> Project:
    """The Project of one config file (ProjectConfigError when it cannot be read)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProjectConfigError(f"cannot read {path}: {exc}") from None
    data = _parse(text, path)
    root = path.resolve().parent.parent.parent.parent
    if path.resolve().parent.parts[-3:] != CONFIG_DIR.parts:
        root = path.resolve().parent
    project = Project(config_path=path.resolve(), root=root, data=data, environ=dict(environ))
    environments = _section(data, "environments")
    names = set(environments) | set(
        _section(data, "safety").get("protected_environments", []) or []
    )
    if not _section(data, "safety").get("protected_environments") and "production" not in names:
        names.add("production")
    for env in sorted(n for n in names if isinstance(n, str)):
        if is_protected(data, env):
            settings = environments.get(env) if isinstance(environments.get(env), dict) else {}
            project.protected.append(_protected_env(env, settings, root, environ))
    return project


def _protected_env(env: str, settings: dict, root: Path, environ: dict) -> ProtectedEnv:
    variable = settings.get("connection_string_env") or default_url_variable(env)
    url = environ.get(variable) or settings.get("default_url") or None
    host = database = None
    sqlite_path = None
    if isinstance(url, str) and url:
        host, database, sqlite_path = describe_url(url, root)
    return ProtectedEnv(env, variable, url, host, database, sqlite_path)


def describe_url(url: str, root: Path) -> tuple[str | None, str | None, Path | None]:
    """(host, database name, SQLite file) of a database URL; None where it has none."""
    if "://" not in url:
        return None, None, None
    scheme, rest = url.split("://", 1)
    if scheme.lower().startswith("sqlite"):
        # sqlite:///relative.db and sqlite:////absolute.db, as faber_db.urls reads them
        return None, None, _resolve(root, unquote(rest[1:].split("?", 1)[0]))
    try:
        parts = urlsplit(url)
    except ValueError:
        return None, None, None
    database = unquote(parts.path.lstrip("/")) or None
    return (parts.hostname or "").lower() or None, database, None


def _resolve(root: Path, raw: str) -> Path | None:
    if not raw or raw == ":memory:":
        return None
    path = Path(os.path.expanduser(raw))
    try:
        return (path if path.is_absolute() else root / path).resolve()
    except OSError:
        return None


def _parse(text: str, path: Path) -> dict:
    if path.suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ProjectConfigError(f"cannot parse {path}: {exc}") from None
    else:
        try:
            import yaml
        except ImportError:
            raise ProjectConfigError(f"cannot read {path}: PyYAML is not installed") from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ProjectConfigError(f"cannot parse {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ProjectConfigError(f"{path}: the config is not a mapping")
    return data


def _section(data: dict, name: str) -> dict:
    value = data.get(name)
    return value if isinstance(value, dict) else {}
