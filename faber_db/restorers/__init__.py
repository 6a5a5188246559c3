"""Restore strategies, one module per engine, chosen by engine name.

Each strategy replaces a database's content with a backup atomically (see the
module of each engine for how) and can restore into a throwaway copy for deep
verification. Modules are imported on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from faber_db.engines.base import Engine
    from faber_db.restorers.base import RestoreContext, Restorer

RESTORER_MODULES = {
    "postgresql": ("faber_db.restorers.postgresql", "PostgresRestorer"),
    "mysql": ("faber_db.restorers.mysql", "MySQLRestorer"),
    "sqlite": ("faber_db.restorers.sqlite", "SQLiteRestorer"),
}


def restorer_for(engine: Engine, context: RestoreContext) -> Restorer:
    """The restore strategy for `engine` (bound to the database to restore into)."""
    module_name, class_name = RESTORER_MODULES[engine.name]
    return getattr(import_module(module_name), class_name)(engine, context)
