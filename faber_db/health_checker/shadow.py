"""The shadow: a scratch database drift replays the migrations into.

By default faber-db makes one beside the live database (a new PostgreSQL database
or MySQL schema on the same server, with the same credentials; a SQLite file in the
project's state folder) and always drops it: on success, on failure, on Ctrl-C and
SIGTERM (the CLI turns SIGTERM into an exception, so `finally` runs). A run killed
with SIGKILL cannot clean up; its shadow is recognisable by its name,
faber_shadow_<host>_<pid>_<random>, and the next drift run on the same machine
drops every shadow whose process is gone. No other name is ever dropped.

With a given shadow URL (--shadow-url, environments.<name>.shadow_url_env: for users
who may not create databases), that database must be empty (no tables, views,
routines or types; extensions are allowed); after the run faber-db drops every
object the replay made in it, so it is empty again. It is never dropped itself.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from faber_db.engines import engine_for
from faber_db.engines.base import Engine
from faber_db.errors import FaberError, InvalidInputError, ShadowNotEmptyError
from faber_db.interrupts import interrupts_deferred
from faber_db.urls import parse_url
from faber_db.workspace import process_alive

log = logging.getLogger("faber_db.health_checker")
PREFIX = "faber_shadow_"
NAME_RE = re.compile(r"faber_shadow_(?P<host>[0-9a-f]{6})_(?P<pid>[0-9]+)_[0-9a-f]{8}(\.db)?")
# Object types that may be in a given shadow before a run (installed by an administrator).
ALLOWED_IN_EMPTY = frozenset({"extension"})


def host_tag() -> str:
    """Six hex digits naming this machine: a pid means something only on its host."""
    return hashlib.sha256(socket.gethostname().encode("utf-8")).hexdigest()[:6]


def shadow_name() -> str:
    """A new shadow's name: prefix, host, this process id and a random part."""
    return f"{PREFIX}{host_tag()}_{os.getpid()}_{secrets.token_hex(4)}"


def is_stale(name: str) -> bool:
    """True for a shadow made on this machine by a process that no longer runs."""
    match = NAME_RE.fullmatch(name)
    if match is None or match["host"] != host_tag():
        return False
    return not process_alive(int(match["pid"]))

    return True


def shadow_folder(state_dir: Path) -> Path:
    """Where SQLite shadows live: the project's private state folder."""
    return state_dir / "shadow"


def drop_stale_shadows(engine: Engine, state_dir: Path) -> list[str]:
    """Drop the shadows that killed runs left behind (see is_stale); returns their names."""
    if engine.file_database:
        folder = shadow_folder(state_dir)
        names = [p.name for p in folder.glob(f"{PREFIX}*.db")] if folder.is_dir() else []
    else:
        names = engine.databases_with_prefix(PREFIX)
    dropped = []
    for name in names:
        if is_stale(name):
            engine.drop_database(_database(engine, state_dir, name))
            dropped.append(name)
    return dropped


def _database(engine: Engine, state_dir: Path, name: str) -> str:
    if engine.file_database:
        return str(shadow_folder(state_dir) / (name if name.endswith(".db") else name + ".db"))
    return name


@contextmanager
def created_shadow(engine: Engine, state_dir: Path) -> Iterator[Engine]:
    """A new scratch database beside the live one, dropped whatever happens."""
    name = shadow_name()
    database = _database(engine, state_dir, name)
    if engine.file_database:
        shadow_folder(state_dir).mkdir(parents=True, exist_ok=True)
    # Ctrl-C or SIGTERM while the shadow is being made or dropped waits for that step,
    # so no shadow is left between its CREATE and the try that drops it.
    arrived: list[int] = []
    with interrupts_deferred(arrived):
        engine.create_scratch_database(database)
    try:
        if arrived:
            raise KeyboardInterrupt
        yield engine_for(engine.conn.with_database(database))
    finally:
        with interrupts_deferred(arrived):
            _drop(engine, database)
    if arrived:
        raise KeyboardInterrupt


def _drop(engine: Engine, database: str) -> None:
    try:
        engine.drop_database(database)
    except (FaberError, *engine.error_types, OSError) as exc:
        # Left for the next run, which drops shadows of dead processes.
        log.warning("could not drop the shadow database %s: %s", database, exc)


@contextmanager
def given_shadow(engine: Engine, url: str, base_dir: Path) -> Iterator[Engine]:
    """The user's empty shadow database; emptied again afterwards (never dropped)."""
    conn = parse_url(url, base_dir)
    if conn.engine != engine.name:
        raise InvalidInputError(
            f"The shadow database is {conn.engine} but the environment is {engine.name}; "
            "drift replays the migrations on the same engine."
        )
    live = engine.conn
    if (conn.host, conn.port, conn.database) == (live.host, live.port, live.database):
        raise InvalidInputError(
            "The shadow database is the environment's own database; drift replays the "
            "migrations into a separate, empty one. Nothing was changed."
        )
    shadow = engine_for(conn)
    with shadow.session() as db:
        found = {
            t: o for t, o in shadow.schema_model(db).items() if o and t not in ALLOWED_IN_EMPTY
        }
    if found:
        listed = ", ".join(f"{t} {next(iter(o))}" for t, o in sorted(found.items())[:5])
        raise ShadowNotEmptyError(
            f"The shadow database {conn.redacted()} is not empty ({listed}); drift replays "
            "the migrations into an empty one and never drops what it did not make. "
            "Nothing was changed.",
            suggestions=[
                "Point --shadow-url (or shadow_url_env) at an empty database",
                "Or leave it out: faber-db creates and drops its own shadow",
            ],
        )
    try:
        yield shadow
    finally:
        _empty(shadow)


def _empty(shadow: Engine) -> None:
    try:
        with shadow.session() as db:
            shadow.drop_schema_objects(db, shadow.schema_model(db))
    except (FaberError, *shadow.error_types) as exc:
        log.warning("could not empty the shadow database: %s", exc)
