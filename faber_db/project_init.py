"""`faber-db init`: write a commented starting config, filled in from an
existing Prisma project when there is one (provider, migrations directory,
the URL variable its datasource reads)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from faber_db.config import CONFIG_DIR, CONFIG_NAMES, parse_config_text, validate_config
from faber_db.engines import default_provider, engine_of_provider, prisma_providers
from faber_db.errors import FaberError
from faber_db.fsutil import atomic_write
from faber_db.resources import template_path
from faber_db.result import Result

GITIGNORE = (
    "# Backups hold your data; never commit them.\nbackups/\nstate/\n"
    "# Lock files are per machine; the audit trail itself is meant to be kept.\naudit.jsonl.lock\n"
)


@dataclass
class PrismaProject:
    """What init learns from prisma/schema.prisma and migration_lock.toml."""

    provider: str | None = None
    url_variable: str | None = None
    migrations_directory: str = "prisma/migrations"
    notes: list[str] = field(default_factory=list)


def init_project(root: Path | None = None, force: bool = False) -> Result:
    """Write .fractary/plugins/faber-db/config.yaml in `root` (default: cwd)."""
    root = (root or Path.cwd()).resolve()
    config_dir = root / CONFIG_DIR
    existing = [config_dir / name for name in CONFIG_NAMES if (config_dir / name).exists()]
    if existing and not force:
        raise FaberError(
            f"{existing[0]} already exists; init leaves it alone.",
            suggestions=["faber-db init --force  (overwrites it)"],
        )
    prisma = detect_prisma(root)
    text = render_config(prisma)
    path = config_dir / "config.yaml"
    validate_config(parse_config_text(text, path), path)
    kept = [str(_keep_copy(old)) for old in existing]
    atomic_write(path, text.encode("utf-8"))
    gitignore = config_dir / ".gitignore"
    if not gitignore.exists():
        atomic_write(gitignore, GITIGNORE.encode("utf-8"))
    return Result(
        operation="init",
        result={
            "config": str(path),
            "provider": prisma.provider or default_provider(),
            "prisma_detected": prisma.provider is not None,
            "migrations_directory": prisma.migrations_directory,
        },
        message=f"Wrote {path.relative_to(root)}"
        + (f" (Prisma project, {prisma.provider})" if prisma.provider else ""),
        warnings=prisma.notes + [f"the previous config is kept as {k}" for k in kept],
        suggestions=[
            "faber-db db-create dev  (creates the dev database if it does not exist yet)",
            "faber-db status dev",
        ],
    )


def _keep_copy(path: Path) -> Path:
    """Move a config that --force replaces to <name>.bak (its safety policy may matter)."""
    backup = path.with_name(path.name + ".bak")
    path.replace(backup)
    return backup


def render_config(prisma: PrismaProject) -> str:
    """The commented config.yaml text."""
    from jinja2 import Template

    template = Template(
        template_path("config.yaml.j2").read_text(encoding="utf-8"), keep_trailing_newline=True
    )
    provider = prisma.provider or default_provider()
    engine = engine_of_provider(provider)
    return template.render(
        today=date.today().isoformat(),
        provider=provider,
        dev_variable=prisma.url_variable or "DEV_DATABASE_URL",
        dev_default_url=None if prisma.url_variable else engine.default_dev_url,
        migrations_directory=prisma.migrations_directory,
    )


def detect_prisma(root: Path) -> PrismaProject:
    """Read provider and URL variable from prisma/schema.prisma, if present."""
    project = PrismaProject()
    schema = root / "prisma" / "schema.prisma"
    lock = root / project.migrations_directory / "migration_lock.toml"
    if schema.is_file():
        datasource = _datasource_block(schema.read_text(encoding="utf-8"))
        project.provider = _setting(datasource, r'provider\s*=\s*"([^"]+)"')
        project.url_variable = _setting(
            datasource, r'url\s*=\s*env\(\s*"([A-Za-z_][A-Za-z0-9_]*)"\s*\)'
        )
    if project.provider is None and lock.is_file():
        project.provider = _setting(lock.read_text(encoding="utf-8"), r'provider\s*=\s*"([^"]+)"')
    if project.provider and project.provider not in prisma_providers():
        project.notes.append(
            f"Prisma provider '{project.provider}' is not supported; set database.provider by hand."
        )
        project.provider = None
    return project


def _datasource_block(text: str) -> str:
    match = re.search(r"datasource\s+\w+\s*\{(.*?)\}", text, re.S)
    return match.group(1) if match else ""


def _setting(text: str, pattern: str) -> str | None:
    match = re.search(pattern, text)
    return match.group(1) if match else None
