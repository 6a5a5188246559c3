"""Load and validate the project config, and resolve an environment to a Target.

The config lives at .fractary/plugins/faber-db/config.json (or config.yaml),
found by walking up from the working directory; --config overrides.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import stat
from dataclasses import dataclass, field
from pathlib import Path

from faber_db.errors import (
    ConfigInvalidError,
    ConfigNotFoundError,
    InvalidInputError,
    MissingEnvVarError,
    UnknownEnvironmentError,
)
from faber_db.resources import load_schema, validation_errors
from faber_db.urls import ConnectionInfo, parse_url

CONFIG_DIR = Path(".fractary/plugins/faber-db")
CONFIG_NAMES = ("config.json", "config.yaml", "config.yml")
ENV_NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
SAFETY_REASONS = ("pre-migration", "pre-rollback", "pre-restore", "safety")
DEFAULT_URL_VARS = {"production": "PROD_DATABASE_URL"}
MAX_CONFIG_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Target:
    """One environment resolved to a database connection."""

    environment: str
    conn: ConnectionInfo
    settings: dict

    @property
    def engine(self) -> str:
        """Engine name: postgresql, mysql or sqlite."""
        return self.conn.engine


@dataclass
class Config:
    """A loaded, validated config and the project it belongs to."""

    path: Path | None
    project_root: Path
    data: dict
    warnings: list[str] = field(default_factory=list)
    # sha256 of the config file's bytes as loaded, and the project's own config
    # (found walking up from the working directory), for the audit trail.
    sha256: str | None = None
    own_path: Path | None = None
    # With another config in force inside a project, the project's own trail.
    audit_override: Path | None = None

    @property
    def is_own(self) -> bool:
        """True when the config in force is the project's own (.fractary/plugins/faber-db/)."""
        if self.path is None:
            return False
        if self.own_path is not None:
            return self.path == self.own_path.resolve()
        return self.path.parent.parts[-3:] == CONFIG_DIR.parts

    # -- sections -----------------------------------------------------------------
    def section(self, name: str) -> dict:
        """A top-level section, or {} when absent."""
        value = self.data.get(name)
        return value if isinstance(value, dict) else {}

    @property
    def environments(self) -> dict[str, dict]:
        """Environment settings by name."""
        return self.section("environments")

    @property
    def provider(self) -> str | None:
        """database.provider, if set."""
        return self.section("database").get("provider")

    # -- paths --------------------------------------------------------------------
    def project_path(self, relative: str) -> Path:
        """Resolve a config path against the project root."""
        path = Path(relative)
        return path if path.is_absolute() else self.project_root / path

    @property
    def backups_dir(self) -> Path:
        """Directory of backups.json and the per-environment backup folders."""
        return self.project_path(
            self.section("backup").get("directory", str(CONFIG_DIR / "backups"))
        )

    @property
    def catalogue_path(self) -> Path:
        """The backup catalogue, backups.json."""
        return self.backups_dir / "backups.json"

    @property
    def audit_path(self) -> Path:
        """The audit trail, audit.jsonl (the project's own, whichever config is in force)."""
        if self.audit_override is not None:
            return self.audit_override
        return self.project_path(self.section("audit").get("path", str(CONFIG_DIR / "audit.jsonl")))

    @property
    def state_dir(self) -> Path:
        """Private working state (journals of interrupted restores, locks)."""
        return self.project_path(str(CONFIG_DIR / "state"))

    @property
    def migrations_dir(self) -> Path:
        """The Prisma migrations directory."""
        return self.project_path(self.section("migrations").get("directory", "prisma/migrations"))

    @property
    def max_migration_bytes(self) -> int:
        """Largest migration.sql that check and migrate accept (migrations.max_file_mb)."""
        return self.section("migrations").get("max_file_mb", 64) * 1024 * 1024

    @property
    def migrations_table(self) -> str:
        """The migration tracking table."""
        return self.section("migrations").get("table", "_prisma_migrations")

    # -- policy -------------------------------------------------------------------
    def is_protected(self, env: str) -> bool:
        """True when mutating commands on env need approval."""
        protected = self.section("safety").get("protected_environments", ["production"])
        return env in protected or bool(self.environments.get(env, {}).get("require_approval"))

    def backup_enforcement(self, env: str) -> str:
        """required, recommended or optional for env."""
        configured = self.section("safety").get("backup_enforcement", {})
        if env in configured:
            return configured[env]
        return "required" if self.is_protected(env) else "optional"

    def retention_days(self, reason: str | None, requested: int | None = None) -> int:
        """Retention for a new backup; safety backups keep at least safety_retention_days."""
        backup = self.section("backup")
        days = requested or backup.get("retention_days", 30)
        if reason in SAFETY_REASONS:
            days = max(days, backup.get("safety_retention_days", 90))
        return days

    @property
    def min_keep(self) -> int:
        """Prune never leaves fewer valid backups per environment."""
        return self.section("backup").get("min_keep", 3)

    # -- environments -------------------------------------------------------------
    def resolve(self, env: str) -> Target:
        """Resolve an environment name to its Target (engine, database, credentials)."""
        check_environment_name(env)
        settings = self.environments.get(env)
        if settings is None:
            raise unknown_environment(env, sorted(self.environments))
        variable = settings.get("connection_string_env") or default_url_variable(env)
        url = os.environ.get(variable) or settings.get("default_url")
        if not url:
            raise MissingEnvVarError(
                f"Environment variable {variable} is not set; it holds the {env} database URL.",
                suggestions=[f'export {variable}="postgresql://user@host:5432/dbname"'],
                details={"variable": variable},
            )
        return Target(environment=env, conn=parse_url(url, self.project_root), settings=settings)

    def display_path(self) -> str:
        """The config path for messages (relative to the project when possible)."""
        if self.path is None:
            return str(CONFIG_DIR / "config.json")
        try:
            return str(self.path.relative_to(Path.cwd()))
        except ValueError:
            return str(self.path)


def default_url_variable(env: str) -> str:
    """DEV_DATABASE_URL for dev, PROD_DATABASE_URL for production, and so on."""
    return DEFAULT_URL_VARS.get(env, env.upper().replace("-", "_") + "_DATABASE_URL")


def unknown_environment(env: str, known: list[str]) -> UnknownEnvironmentError:
    """The error for an environment the config does not define, naming the closest
    configured one (a typo such as 'prod' for 'production')."""
    import difflib

    listed = ", ".join(known) or "none"
    close = [name for name in known if name.startswith(env) or env.startswith(name)]
    close = close or difflib.get_close_matches(env, known, n=1, cutoff=0.5)
    if close:
        return UnknownEnvironmentError(
            f"Unknown environment '{env}': did you mean '{close[0]}'? (configured: {listed})",
            suggestions=[f"Run the same command with '{close[0]}' instead of '{env}'"],
            details={"did_you_mean": close[0], "configured": known},
        )
    return UnknownEnvironmentError(
        f"Unknown environment '{env}' (configured: {listed}).",
        suggestions=[f"Use one of the configured environments: {listed}"],
        details={"configured": known},
    )


def check_environment_name(env: str) -> None:
    """Refuse environment names that could escape a path or a shell."""
    if not isinstance(env, str) or not ENV_NAME_RE.match(env):
        raise InvalidInputError(
            f"Invalid environment name {env!r}: use lowercase letters, digits, '-' or '_' "
            "(starting with a letter).",
        )


def find_config(start: Path | None = None) -> Path | None:
    """Walk up from start looking for .fractary/plugins/faber-db/config.{json,yaml}."""
    directory = (start or Path.cwd()).resolve()
    for candidate_dir in (directory, *directory.parents):
        for name in CONFIG_NAMES:
            candidate = candidate_dir / CONFIG_DIR / name
            if candidate.is_file():
                return candidate
    return None


def project_root_for(config_path: Path) -> Path:
    """The directory holding .fractary/ (or the config's own folder for a loose file)."""
    parts = config_path.resolve().parent
    if parts.parts[-3:] == CONFIG_DIR.parts:
        return parts.parent.parent.parent
    return parts


def load_config(explicit: str | os.PathLike | None = None, start: Path | None = None) -> Config:
    """Find, parse and validate the config; raise ConfigNotFoundError/ConfigInvalidError."""
    explicit = explicit or os.environ.get("FABER_DB_CONFIG")
    path = Path(explicit) if explicit else find_config(start)
    if path is None:
        raise ConfigNotFoundError(
            "No faber-db config found (looked for .fractary/plugins/faber-db/config.json "
            "or config.yaml here and in every parent directory).",
            suggestions=["faber-db init", "faber-db --config PATH ..."],
        )
    if not path.is_file():
        raise ConfigNotFoundError(
            f"Config file {path} does not exist.",
            suggestions=[f"ls {shlex.quote(str(path.parent))}", "faber-db init"],
        )
    text = read_config_text(path)
    raw = text.encode("utf-8")  # the bytes read: they decoded as UTF-8
    data = parse_config_text(text, path)
    warnings = validate_config(data, path)
    config = Config(
        path=path.resolve(),
        project_root=project_root_for(path),
        data=data,
        warnings=warnings,
        sha256=hashlib.sha256(raw).hexdigest(),
        own_path=find_config(start) if explicit else path.resolve(),
    )
    check_audit_path(config)
    if not config.is_own and config.own_path is not None:
        config.audit_override = _own_trail(config.own_path)
    return config


def _own_trail(own_path: Path) -> Path | None:
    """The audit trail the project's own config names, so that commands run under
    another config are audited where the project's history is (None when the
    project's own config cannot be loaded; its policy then fails closed, see
    audit_policy)."""
    try:
        return load_config(own_path).audit_path
    except (ConfigInvalidError, ConfigNotFoundError, OSError, ValueError):
        return None


def check_audit_path(config: Config) -> None:
    """Refuse an audit trail that is not a regular file inside the project (or the
    plugin's data folder): /dev/null, a device, a FIFO or a path elsewhere would let a
    config switch the trail off."""
    configured = config.audit_path
    resolved = configured.resolve()
    roots = [config.project_root.resolve()]
    if os.environ.get("CLAUDE_PLUGIN_DATA"):
        roots.append(Path(os.environ["CLAUDE_PLUGIN_DATA"]).resolve())
    problem = None
    if not any(resolved.is_relative_to(root) for root in roots):
        problem = f"it resolves to {resolved}, outside the project {roots[0]}"
    elif resolved.exists() and not stat.S_ISREG(resolved.stat().st_mode):
        problem = f"{resolved} is not a regular file"
    if problem:
        raise ConfigInvalidError(
            f"{config.display_path()}: invalid config: audit.path {str(configured)!r} is refused: "
            f"{problem}. The audit trail must be a regular file inside the project"
            + (" or $CLAUDE_PLUGIN_DATA." if len(roots) > 1 else "."),
            suggestions=[
                "Remove audit.path (the default is .fractary/plugins/faber-db/audit.jsonl) "
                "or point it at a file inside the project."
            ],
            details={"errors": [f"audit.path: {problem}"]},
        )


def read_config_text(path: Path) -> str:
    """The config file as text: at most MAX_CONFIG_BYTES of UTF-8, else ConfigInvalidError.

    Only MAX_CONFIG_BYTES + 1 bytes are ever read, so a huge file is refused at once.
    """
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigInvalidError(f"{path}: cannot be read: {exc.strerror}.") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigInvalidError(
            f"{path}: the config is larger than {MAX_CONFIG_BYTES // 1024} KiB "
            "(1 MiB); faber-db refuses to load it.",
            suggestions=["A faber-db config is a few KB: check that this is the right file"],
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigInvalidError(
            f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}).",
            suggestions=[f"Re-save {path} as UTF-8"],
        ) from None


def parse_config_text(text: str, path: Path) -> dict:
    """Parse JSON or YAML config text into a dict; duplicate keys are an error."""
    try:
        data = _parse_json(text, path) if path.suffix == ".json" else _parse_yaml(text, path)
    except RecursionError:
        raise ConfigInvalidError(f"{path}: the config is nested too deeply.") from None
    if not isinstance(data, dict):
        raise ConfigInvalidError(
            f"{path}: the config must be a mapping (an object) at the top level.",
            suggestions=_repair_suggestions(path),
        )
    return data


def _repair_suggestions(path: Path) -> list[str]:
    """How to find the broken line (the YAML message names it), or start again."""
    checker = [f"python3 -m json.tool {shlex.quote(str(path))}  (names the line to fix)"]
    return [
        *(checker if path.suffix == ".json" else []),
        "faber-db init --force  (a fresh config; the old one is kept as .bak)",
    ]


def _parse_json(text: str, path: Path):
    def unique_keys(pairs: list[tuple[str, object]]) -> dict:
        data: dict = {}
        for key, value in pairs:
            if key in data:
                raise ConfigInvalidError(
                    f"{path}: duplicate key '{key}': only one may be given "
                    "(the second would silently replace the first)."
                )
            data[key] = value
        return data

    try:
        return json.loads(text, object_pairs_hook=unique_keys)
    except ValueError as exc:  # JSONDecodeError, or an integer of too many digits
        raise ConfigInvalidError(
            f"{path}: not valid JSON: {exc}", suggestions=_repair_suggestions(path)
        ) from None


def _parse_yaml(text: str, path: Path):
    import yaml

    from faber_db.config_yaml import ConfigYamlError, load_yaml

    try:
        return load_yaml(text)
    except ConfigYamlError as exc:
        raise ConfigInvalidError(f"{path}: {exc}.") from None
    except yaml.YAMLError as exc:
        raise ConfigInvalidError(
            f"{path}: not valid YAML: {exc}", suggestions=_repair_suggestions(path)
        ) from None
    except ValueError as exc:  # an integer of too many digits
        raise ConfigInvalidError(f"{path}: not valid YAML: {exc}") from None


def validate_config(data: dict, path: Path) -> list[str]:
    """Validate against schemas/config.schema.json; return warnings for unknown keys."""
    errors = validation_errors(data, "config")
    if errors:
        raise ConfigInvalidError(
            f"{path}: invalid config: " + "; ".join(errors),
            suggestions=["See docs/CONFIGURATION.md for every key and its type."],
            details={"errors": errors},
        )
    return [f"{path.name}: unknown key '{key}' is ignored" for key in unknown_keys(data)]


def unknown_keys(data: dict) -> list[str]:
    """Dotted paths of keys the schema does not describe (likely typos)."""
    schema = load_schema("config")
    found: list[str] = []
    _collect_unknown(data, schema, schema, "", found)
    return found


def _collect_unknown(value, node: dict, root: dict, prefix: str, found: list[str]) -> None:
    if "$ref" in node:
        node = root["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    if not isinstance(value, dict):
        return
    props = node.get("properties")
    extra = node.get("additionalProperties")
    for key, child in value.items():
        if props is not None and key in props:
            _collect_unknown(child, props[key], root, f"{prefix}{key}.", found)
        elif isinstance(extra, dict):
            _collect_unknown(child, extra, root, f"{prefix}{key}.", found)
        elif props is not None:
            found.append(f"{prefix}{key}")
