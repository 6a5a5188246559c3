"""The engine registry: engine name -> Engine class. Each Engine names its Restorer.

An engine is one folder here (engine.py, restorer.py); modules are imported on
first use so that start-up stays light.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from faber_db.engines.base import Engine
    from faber_db.engines.restorer import RestoreContext, Restorer
    from faber_db.urls import ConnectionInfo

# The embedded default: a new user runs everything with nothing installed but Python.
DEFAULT_ENGINE = "sqlite"
ENGINE_MODULES = {
    "postgresql": ("faber_db.engines.postgresql.engine", "PostgresEngine"),
    "mysql": ("faber_db.engines.mysql.engine", "MySQLEngine"),
    "sqlite": ("faber_db.engines.sqlite.engine", "SQLiteEngine"),
}


def engine_class(name: str) -> type[Engine]:
    """The Engine class of an engine name, for its facts (no connection needed)."""
    module_name, class_name = ENGINE_MODULES[name]
    return getattr(import_module(module_name), class_name)


def engine_names() -> tuple[str, ...]:
    """Every engine faber-db knows, in registry order."""
    return tuple(ENGINE_MODULES)


def engine_classes() -> list[type[Engine]]:
    """Every Engine class, in registry order."""
    return [engine_class(name) for name in ENGINE_MODULES]


def url_schemes() -> list[str]:
    """Every URL scheme an engine answers to (postgresql, postgres, mysql, ...)."""
    return [scheme for cls in engine_classes() for scheme in cls.url_schemes]


def engine_of_scheme(scheme: str) -> str | None:
    """The engine a URL scheme names, or None."""
    return next((cls.name for cls in engine_classes() if scheme in cls.url_schemes), None)


def prisma_providers() -> dict[str, str]:
    """Prisma provider name -> engine name."""
    return {cls.prisma_provider: cls.name for cls in engine_classes()}


def engine_of_provider(provider: str | None) -> type[Engine] | None:
    """The Engine class of a Prisma provider name (config's database.provider), or None."""
    name = prisma_providers().get(provider) if provider else None
    return engine_class(name) if name else None


def default_provider() -> str:
    """The Prisma provider of the default engine (what `faber-db init` assumes)."""
    return engine_class(DEFAULT_ENGINE).prisma_provider


def install_hint(tool: str) -> str | None:
    """How to install a native tool an engine's handlers run, or None."""
    return next(
        (cls.install_hints[tool] for cls in engine_classes() if tool in cls.install_hints), None
    )


def format_description(engine_name: str, backup_format: str) -> str:
    """How people should read a backup format name of this engine ("custom" is a
    pg_dump archive on PostgreSQL, a database file copy on SQLite)."""
    if engine_name not in ENGINE_MODULES:
        return backup_format
    return engine_class(engine_name).format_descriptions.get(backup_format, backup_format)


def engine_for(conn: ConnectionInfo) -> Engine:
    """Return the Engine implementation for a connection."""
    return engine_class(conn.engine)(conn)


def restorer_for(engine: Engine, context: RestoreContext) -> Restorer:
    """The restore strategy the engine names (bound to the database to restore into)."""
    module_name, class_name = engine.restorer
    return getattr(import_module(module_name), class_name)(engine, context)
