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

ENGINE_MODULES = {
    "postgresql": ("faber_db.engines.postgresql.engine", "PostgresEngine"),
    "mysql": ("faber_db.engines.mysql.engine", "MySQLEngine"),
    "sqlite": ("faber_db.engines.sqlite.engine", "SQLiteEngine"),
}


def engine_class(name: str) -> type[Engine]:
    """The Engine class of an engine name, for its facts (no connection needed)."""
    module_name, class_name = ENGINE_MODULES[name]
    return getattr(import_module(module_name), class_name)


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
