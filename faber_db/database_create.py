"""`faber-db db-create <env>`: create the environment's database (for SQLite,
its file) when it does not exist. Running it again changes nothing."""

from __future__ import annotations

from faber_db.config import Config
from faber_db.engines import engine_for
from faber_db.migration_deployer.statements import database_errors
from faber_db.result import Result


def create_environment_database(config: Config, env: str) -> Result:
    """Create env's database if missing; say whether it was created."""
    target = config.resolve(env)
    engine = engine_for(target.conn)
    name = target.conn.database
    created = False
    with database_errors(engine, f"creating database {name}"):
        if not engine.database_exists(name):
            created = _create(engine, name)
        else:  # it must be a database, not merely something of that name (a text file)
            with engine.session(name):
                pass
    where = f"{engine.name} {target.conn.redacted()}"
    return Result(
        operation="db-create",
        environment=env,
        result={"database": name, "engine": engine.name, "created": created},
        message=f"Created {where}." if created else f"{where} already exists; nothing changed.",
        warnings=list(config.warnings),
        suggestions=[f"faber-db migrate {env}"] if created else [],
    )


def _create(engine, name: str) -> bool:
    try:
        engine.create_database(name)
    except engine.error_types:
        # Another process may have created it between the check and now.
        if engine.database_exists(name):
            return False
        raise
    return True
