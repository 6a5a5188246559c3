"""The tamper-evident audit trail: audit.jsonl, one line per mutating operation.

Each line carries the hash of the previous line and its own hash, so editing
or deleting a line breaks the chain at that line; a small head file records
the last line's hash, so removing lines from the end is caught too. Appends
are serialised by a file lock and fsync'd. Secrets never reach it: the
command line is redacted and URLs are never recorded.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

from faber_db.fsutil import atomic_write
from faber_db.locks import file_lock
from faber_db.result import Result
from faber_db.timeutil import format_utc, utcnow
from faber_db.urls import redact_text

GENESIS = "sha256:" + "0" * 64
AUDITED_OPERATIONS = frozenset(
    {
        "backup",
        "backups-delete",
        "backups-prune",
        "backups-verify",
        "restore",
        "rollback",
        "migrate",
        "resolve",
        "db-create",
        "init",
        "generate-migration",
    }
)
# Result keys copied into the audit line when a command reports them.
RESULT_KEYS = (
    "plan_id",
    "backup_id",
    "safety_backup_id",
    "pre_migration_backup_id",
    "migrations_applied",
    "migrations_rolled_back",
    "failed_migration",
    "deleted",
    "target_database",
)
TAIL_BYTES = 1 << 16


@dataclass
class ChainReport:
    """Outcome of verifying the chain."""

    lines: int
    ok: bool
    first_broken_line: int | None = None
    problem: str | None = None
    entries: list[dict] = field(default_factory=list)


def record(path: Path, result: Result, argv: list[str], duration: float) -> dict:
    """Append one operation to the trail (under a lock) and return the line written."""
    entry = {
        "time": format_utc(utcnow()),
        "user": _os_user(),
        "agent": _agent(),
        "host": socket.gethostname(),
        "command": redact_text(" ".join(["faber-db", *argv])),
        "operation": result.operation,
        "environment": result.environment,
        "result": result.status,
        "error_code": (result.error or {}).get("code"),
        "message": redact_text(result.message)[:500],
        "duration_seconds": round(duration, 3),
        **{key: result.result[key] for key in RESULT_KEYS if key in result.result},
    }
    with file_lock(path.with_name(path.name + ".lock"), 30, "the audit trail lock"):
        previous = _last_hash_and_seq(path)
        entry = {"seq": previous[1] + 1, **entry, "prev_hash": previous[0]}
        entry["hash"] = entry_hash(entry)
        _append_line(path, json.dumps(entry, ensure_ascii=False, sort_keys=False))
        atomic_write(
            _head_path(path), json.dumps({"seq": entry["seq"], "hash": entry["hash"]}).encode()
        )
    return entry


def entry_hash(entry: dict) -> str:
    """sha256 over the line's fields except its own hash, in a canonical form."""
    body = {k: v for k, v in entry.items() if k != "hash"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def read_entries(path: Path) -> list[dict]:
    """Every line of the trail, parsed (unparseable lines raise ValueError)."""
    if not path.exists():
        return []
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def verify_chain(path: Path) -> ChainReport:
    """Check every line's hash and link; name the first broken line (1-based)."""
    if not path.exists():
        return ChainReport(0, True)
    expected_prev, entries = GENESIS, []
    with open(path, encoding="utf-8") as handle:
        for number, raw in enumerate(handle, start=1):
            problem = _line_problem(raw, expected_prev, number)
            if problem:
                return ChainReport(number - 1, False, number, problem, entries)
            entry = json.loads(raw)
            entries.append(entry)
            expected_prev = entry["hash"]
    return _check_head(path, entries)


def _line_problem(raw: str, expected_prev: str, number: int) -> str | None:
    try:
        entry = json.loads(raw)
    except json.JSONDecodeError:
        return f"line {number} is not valid JSON"
    if not isinstance(entry, dict) or "hash" not in entry:
        return f"line {number} has no hash"
    if entry.get("seq") != number:
        return f"line {number} has sequence number {entry.get('seq')} (a line before it was removed or inserted)"
    if entry.get("prev_hash") != expected_prev:
        return f"line {number} does not follow the line before it (a line was edited, removed or inserted)"
    if entry_hash(entry) != entry["hash"]:
        return (
            f"line {number} was edited after it was written (its hash does not match its content)"
        )
    return None


def _check_head(path: Path, entries: list[dict]) -> ChainReport:
    head_path = _head_path(path)
    last = entries[-1] if entries else {"seq": 0, "hash": GENESIS}
    if head_path.exists():
        head = json.loads(head_path.read_text())
        if head.get("hash") != last["hash"]:
            return ChainReport(
                len(entries),
                False,
                len(entries) + 1,
                f"the trail ends at line {len(entries)} but its head records line {head.get('seq')}: "
                "lines were removed from the end",
                entries,
            )
    return ChainReport(len(entries), True, entries=entries)


def _last_hash_and_seq(path: Path) -> tuple[str, int]:
    if not path.exists() or path.stat().st_size == 0:
        return GENESIS, 0
    with open(path, "rb") as handle:
        handle.seek(max(0, path.stat().st_size - TAIL_BYTES))
        lines = [line for line in handle.read().splitlines() if line.strip()]
    last = json.loads(lines[-1])
    return last["hash"], int(last["seq"])


def _append_line(path: Path, line: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (line + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


def _head_path(path: Path) -> Path:
    return path.with_name(path.name + ".head")


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def _agent() -> str | None:
    """The agent driving faber-db, when the environment says so."""
    if os.environ.get("FABER_DB_AGENT"):
        return os.environ["FABER_DB_AGENT"][:100]
    if os.environ.get("CLAUDECODE") == "1":
        return "claude-code"
    return None
