"""The tamper-evident audit trail: audit.jsonl, one line per mutating operation.

Each line carries the hash of the previous line and its own hash, so editing
or deleting a line breaks the chain at that line; a small head file records
the last line's hash, so removing lines from the end is caught too (and each
new catalogue entry records the head as well, see audit_report). Appends are
serialised by a file lock and fsync'd; a line is written whole or not at all,
and the head only after it, so a full disk never leaves a head ahead of the
file. Secrets never reach it: the command line is redacted and URLs are never
recorded.

Each line also records the config in force (path, sha256, whether it is the
project's own) and the safety policy it set. A change of policy, or a config
other than the project's own, is written as a `config-change` line of its own
before the line of the command that ran under it. `protected_baseline` carries
every environment that was protected at some audited command forward until a
person approves a gated command on it under the weakened policy (see
audit_policy).
"""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
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
        "backups-sync",
        "backups-verify",
        "restore",
        "rollback",
        "migrate",
        "resolve",
        "db-create",
        "init",
        "generate-migration",
        "schedule-install",
        "schedule-remove",
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
CONFIG_CHANGE = "config-change"
# The policy fields (audit_policy.policy_snapshot) compared between consecutive lines.
POLICY_FIELDS = (
    "protected",
    "require_approval",
    "require_approval_for",
    "backup_enforcement",
    "destructive_operations",
)
log = logging.getLogger(__name__)


@dataclass
class ChainReport:
    """Outcome of verifying the chain."""

    lines: int
    ok: bool
    first_broken_line: int | None = None
    problem: str | None = None
    entries: list[dict] = field(default_factory=list)


def record(
    path: Path,
    result: Result,
    argv: list[str] | None,
    duration: float,
    stamp: dict | None = None,
    release: str | None = None,
    seed: dict | None = None,
) -> dict:
    """Append one operation to the trail (under a lock) and return the line written.

    `stamp` (audit_policy.config_stamp) is the config in force and its policy; when
    it differs from the previous line's, a config-change line is appended first.
    `release` names an environment whose weakened protection a person just approved.
    `seed` stands in for the previous line when this trail is empty (the last line of
    the trail the project used before, so moving the trail does not reset the policy).
    Raises OSError (or ValueError for a damaged last line) when the line could not be
    written; the file then holds exactly what it held before."""
    entry = {
        "time": format_utc(utcnow()),
        "user": _os_user(),
        "agent_claimed": _agent(),
        "host": socket.gethostname(),
        "command": redact_text(" ".join(["faber-db", *argv])) if argv is not None else None,
        "operation": result.operation,
        "environment": result.environment,
        "result": result.status,
        "error_code": (result.error or {}).get("code"),
        "message": redact_text(result.message)[:500],
        "duration_seconds": round(duration, 3),
        **{key: result.result[key] for key in RESULT_KEYS if key in result.result},
    }
    with file_lock(path.with_name(path.name + ".lock"), 30, "the audit trail lock"):
        previous = last_entry(path)
        basis = previous if previous is not None else seed
        if stamp is not None:
            changes = describe_changes(basis, stamp)
            if previous is None and seed is not None:
                changes.insert(0, f"audit trail moved: {seed.get('_trail')} -> {path}")
            if changes:
                event = {
                    **{k: entry[k] for k in ("time", "user", "agent_claimed", "host", "command")},
                    "operation": CONFIG_CHANGE,
                    "environment": result.environment,
                    "result": "recorded",
                    "changes": changes,
                }
                previous = basis = _append(path, previous, event, stamp, None, basis)
        written = _append(path, previous, entry, stamp, release, basis)
    return written


def _append(
    path: Path,
    previous: dict | None,
    entry: dict,
    stamp: dict | None,
    release: str | None,
    basis: dict | None,
) -> dict:
    """Chain `entry` after `previous` (its baseline after `basis`), write it, then the
    head; return it."""
    seq = previous["seq"] + 1 if previous else 1
    entry = {"seq": seq, **entry}
    if stamp is not None:
        entry.update(stamp)
        entry["protected_baseline"] = next_baseline(basis, stamp, release)
    entry["prev_hash"] = previous["hash"] if previous else GENESIS
    entry["hash"] = entry_hash(entry)
    _append_line(path, json.dumps(entry, ensure_ascii=False, sort_keys=False))
    try:
        atomic_write(_head_path(path), json.dumps({"seq": seq, "hash": entry["hash"]}).encode())
    except OSError as exc:  # the line is the record; a lagging head is not a tamper sign
        log.warning("audit trail: line %s written, its head file not updated: %s", seq, exc)
    return entry


def describe_changes(previous: dict | None, stamp: dict) -> list[str]:
    """What differs between the previous line's config and policy and `stamp`'s."""
    config, policy = stamp.get("config", {}), stamp.get("policy", {})
    foreign = f"a config other than the project's own is in force: {config.get('path')}"
    if previous is None or "policy" not in previous:
        return [] if config.get("own", True) else [foreign]
    before, changes = previous.get("config", {}), []
    if before.get("path") != config.get("path"):
        changes.append(f"config file changed: {before.get('path')} -> {config.get('path')}")
    if not config.get("own", True) and (before.get("own", True) or changes):
        changes.append(foreign)
    old = previous["policy"]
    for name in POLICY_FIELDS:
        if old.get(name) != policy.get(name):
            changes.append(_policy_change(name, old.get(name), policy.get(name)))
    return changes


def _policy_change(name: str, old, new) -> str:
    if name == "protected":
        lost = sorted(set(old or []) - set(new or []))
        gained = sorted(set(new or []) - set(old or []))
        parts = [f"{e} is no longer protected" for e in lost]
        parts += [f"{e} is now protected" for e in gained]
        return "protected environments changed: " + "; ".join(parts)
    if isinstance(old, dict) and isinstance(new, dict):
        keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        return f"{name} changed: " + "; ".join(
            f"{k}: {_short(old.get(k))} -> {_short(new.get(k))}" for k in keys
        )
    return f"{name} changed: {_short(old)} -> {_short(new)}"


def _short(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))[:200]


def next_baseline(previous: dict | None, stamp: dict, release: str | None) -> list[str]:
    """Environments protected at any audited command so far, minus one a person
    just approved a gated command on under a policy that no longer protects it."""
    protected = set(stamp.get("policy", {}).get("protected", []))
    baseline = set(baseline_of(previous)) | protected
    if release is not None and release not in protected:
        baseline.discard(release)
    return sorted(baseline)


def baseline_of(entry: dict | None) -> list[str]:
    """The protected baseline a line carries (older lines: the envs protected then)."""
    if entry is None:
        return []
    if "protected_baseline" in entry:
        return list(entry["protected_baseline"])
    return list(entry.get("policy", {}).get("protected", []))


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
    # Bytes that are not UTF-8 become U+FFFD: that line then fails its hash (or is not
    # JSON) and is named as the break, instead of the check ending in a traceback.
    with open(path, encoding="utf-8", errors="replace") as handle:
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
    """The head file must name a line of the chain: one past the end means lines
    were removed; a head behind the end (its write failed, e.g. a full disk) is fine
    as long as it matches the line it names."""
    head_path = _head_path(path)
    if not head_path.exists():
        return ChainReport(len(entries), True, entries=entries)
    try:
        head = json.loads(head_path.read_text(encoding="utf-8"))
        seq, recorded = int(head["seq"]), head["hash"]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
        return ChainReport(
            len(entries), False, len(entries) + 1, f"the head file {head_path} is damaged", entries
        )
    problem = anchor_problem(entries, seq, recorded, f"its head file {head_path.name}")
    if problem:
        return ChainReport(len(entries), False, min(seq, len(entries) + 1), problem, entries)
    return ChainReport(len(entries), True, entries=entries)


def anchor_problem(entries: list[dict], seq: int, recorded: str, where: str) -> str | None:
    """Why a chain does not hold the line `seq` with hash `recorded` that `where` saw."""
    if seq == 0:
        return None
    if seq > len(entries):
        return (
            f"the trail ends at line {len(entries)} but {where} records line {seq}: "
            "lines were removed from the end (truncated)"
        )
    if entries[seq - 1].get("hash") != recorded:
        return (
            f"line {seq} is not the line {where} recorded: "
            "the trail was rewritten (its hash chain was recomputed)"
        )
    return None


def last_entry(path: Path) -> dict | None:
    """The trail's last line, parsed (None for an empty or absent trail); a damaged
    last line raises ValueError."""
    if not path.exists() or path.stat().st_size == 0:
        return None
    with open(path, "rb") as handle:
        handle.seek(max(0, path.stat().st_size - TAIL_BYTES))
        lines = [line for line in handle.read().splitlines() if line.strip()]
    if not lines:
        return None
    last = json.loads(lines[-1])
    if not isinstance(last, dict) or not isinstance(last.get("seq"), int) or "hash" not in last:
        raise ValueError(f"the last line of {path} is not an audit line")
    return last


def current_head(path: Path) -> dict | None:
    """{"seq", "hash"} of the trail's last line, or None when there is none or it is
    unreadable (the caller records it as an anchor; verify reports the damage)."""
    try:
        last = last_entry(path)
    except (OSError, ValueError):
        return None
    return {"seq": last["seq"], "hash": last["hash"]} if last else None


def _append_line(path: Path, line: str) -> None:
    """Append one line whole, or leave the file as it was (a short write on a full
    disk is cut back off, so no half line is left to break the chain)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (line + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        start = os.fstat(fd).st_size
        try:
            written = os.write(fd, data)
            if written != len(data):
                raise OSError(f"short write to {path} ({written} of {len(data)} bytes)")
            os.fsync(fd)
        except OSError:
            os.ftruncate(fd, start)
            raise
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
    """The agent driving faber-db, as the environment claims it (unverified: any
    process can set these variables, so it is recorded as agent_claimed)."""
    if os.environ.get("FABER_DB_AGENT"):
        return os.environ["FABER_DB_AGENT"][:100]
    if os.environ.get("CLAUDECODE") == "1":
        return "claude-code"
    return None
