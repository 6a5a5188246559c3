"""Engine registry: one module per engine, chosen by the URL's engine name.

Modules are imported on first use so that start-up stays light.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from faber_db.engines.base import Engine
    from faber_db.urls import ConnectionInfo

ENGINE_MODULES = {
    "postgresql": ("faber_db.engines.postgresql", "PostgresEngine"),
    "mysql": ("faber_db.engines.mysql", "MySQLEngine"),
    "sqlite": ("faber_db.engines.sqlite", "SQLiteEngine"),
}


def engine_class(name: str) -> type[Engine]:
    """The Engine class of an engine name, for its facts (no connection needed)."""
    module_name, class_name = ENGINE_MODULES[name]
    return getattr(import_module(module_name), class_name)


def engine_for(conn: ConnectionInfo) -> Engine:
    """Return the Engine implementation for a connection."""
    return engine_class(conn.engine)(conn)
