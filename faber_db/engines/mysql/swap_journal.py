"""The journal of a MySQL/MariaDB swap: what the next run needs to finish (or
undo) a restore that was killed, written atomically before each phase."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from faber_db.engines.mysql.objects import SchemaObject
from faber_db.fsutil import atomic_write
from faber_db.timeutil import format_utc, utcnow

STATES = ("loading", "swapping", "renamed")


@dataclass
class SwapJournal:
    """One restore into `database` through `scratch`, old tables parked in `trash`."""

    path: Path
    environment: str
    database: str
    backup_id: str
    scratch: str
    trash: str
    state: str = "loading"
    pid: int = field(default_factory=os.getpid)
    started_at: str = field(default_factory=lambda: format_utc(utcnow()))
    old_tables: list[str] = field(default_factory=list)
    new_tables: list[str] = field(default_factory=list)
    old_objects: list[SchemaObject] = field(default_factory=list)
    new_objects: list[SchemaObject] = field(default_factory=list)

    def save(self, state: str | None = None) -> None:
        """Record the phase we are about to enter (atomic, durable)."""
        if state is not None:
            self.state = state
        data = asdict(self)
        data.pop("path")
        atomic_write(self.path, json.dumps(data, indent=1).encode("utf-8"))

    def remove(self) -> None:
        """The restore is over (finished or undone)."""
        self.path.unlink(missing_ok=True)

    @classmethod
    def load(cls, path: Path) -> SwapJournal:
        """Read a journal left by an earlier run."""
        data = json.loads(path.read_text(encoding="utf-8"))
        for key in ("old_objects", "new_objects"):
            data[key] = [SchemaObject.from_dict(item) for item in data.get(key, [])]
        return cls(path=path, **data)


def journal_path(state_dir: Path, environment: str, database: str) -> Path:
    """restore.<env>.<hash of the database>.json ('.' never occurs in an env name)."""
    digest = hashlib.sha256(database.encode("utf-8")).hexdigest()[:12]
    return state_dir / f"restore.{environment}.{digest}.json"


def journals_of(state_dir: Path, environment: str) -> list[Path]:
    """Journals of every restore of `environment` that did not finish."""
    if not state_dir.is_dir():
        return []
    return sorted(state_dir.glob(f"restore.{environment}.*.json"))
