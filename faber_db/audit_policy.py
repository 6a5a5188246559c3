"""The config and safety policy each audit line records, and what a change of
them since the last audited command means for the next gated command.

A policy that stops protecting an environment which was protected at an audited
command (or that the project's own config protects, when another config is in
force) does not take effect silently: gated commands on that environment still
need a person's approval of the plan, which shows the change. Once a person has
approved one under the new policy, the trail records it and the change stands.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from faber_db.audit import baseline_of, current_head, describe_changes, last_entry, record
from faber_db.backup_manager.catalogue import Catalogue
from faber_db.config import CONFIG_DIR, Config, load_config
from faber_db.errors import AuditUnavailableError, CatalogueCorruptError, FaberError
from faber_db.result import Result


@dataclass
class PolicyDrift:
    """How the config in force differs from the one at the last audited command."""

    changes: list[str] = field(default_factory=list)
    formerly_protected: set[str] = field(default_factory=set)


def policy_snapshot(config: Config) -> dict:
    """The policy fields an audit line records (effective values, not raw text)."""
    safety = config.section("safety")
    named = safety.get("protected_environments", ["production"])
    envs = sorted(set(config.environments) | set(named if isinstance(named, list) else []))
    return {
        "protected": [e for e in envs if config.is_protected(e)],
        "require_approval": sorted(
            e
            for e, s in config.environments.items()
            if isinstance(s, dict) and s.get("require_approval")
        ),
        "require_approval_for": safety.get("require_approval_for"),
        "backup_enforcement": {e: config.backup_enforcement(e) for e in envs},
        "destructive_operations": safety.get("destructive_operations", {}),
    }


def config_stamp(config: Config) -> dict:
    """The `config` and `policy` fields of an audit line."""
    return {
        "config": {
            "path": str(config.path) if config.path else None,
            "sha256": config.sha256,
            "own": config.is_own,
        },
        "policy": policy_snapshot(config),
    }


def policy_drift(config: Config) -> PolicyDrift:
    """Changes since the last audited command, and the environments that were
    protected then (or by the project's own config) but are not now."""
    stamp = config_stamp(config)
    try:
        previous = last_entry(config.audit_path) or trail_seed(config)
    except (OSError, ValueError):
        previous = None  # a damaged trail: recording will fail, and fail closed there
    baseline = set(baseline_of(previous)) | _own_config_protected(config)
    now = set(stamp["policy"]["protected"])
    return PolicyDrift(describe_changes(previous, stamp), baseline - now)


def trail_seed(config: Config) -> dict | None:
    """When the trail in force is empty: the last line of a trail the project used
    before (the default one, or one a catalogue entry anchored), with `_trail` naming
    it, so pointing audit.path at a fresh file does not forget the policy."""
    try:
        if last_entry(config.audit_path) is not None:
            return None
    except (OSError, ValueError):
        return None
    for candidate in _earlier_trails(config):
        try:
            seed = last_entry(candidate)
        except (OSError, ValueError):
            continue
        if seed is not None:
            return {**seed, "_trail": str(candidate)}
    return None


def _earlier_trails(config: Config) -> list[Path]:
    root = config.project_root.resolve()
    names = [str(CONFIG_DIR / "audit.jsonl")]
    try:
        entries = Catalogue.for_config(config).entries()
    except CatalogueCorruptError:
        entries = []
    names += [e.audit_head["path"] for e in reversed(entries) if e.audit_head]
    current, found = config.audit_path.resolve(), []
    for name in names:
        path = (root / name).resolve()
        if path != current and path.is_relative_to(root) and path not in found:
            found.append(path)
    return found


def record_line(
    config: Config,
    result: Result,
    argv: list[str] | None,
    duration: float,
    release: str | None = None,
) -> dict:
    """Append `result` to the config's trail with the config in force and its policy."""
    return record(
        config.audit_path,
        result,
        argv,
        duration,
        config_stamp(config),
        release=release,
        seed=trail_seed(config),
    )


def _own_config_protected(config: Config) -> set[str]:
    """With another config in force, what the project's own config protects (every
    environment, when the project's own config cannot be read: fail closed)."""
    if config.is_own or config.own_path is None:
        return set()
    try:
        own = load_config(config.own_path)
    except (FaberError, OSError, ValueError):  # UnicodeDecodeError is a ValueError
        return set(config.environments)
    return set(policy_snapshot(own)["protected"])


def record_approval(config: Config, env: str | None, operation: str, plan: dict) -> None:
    """Write the audit line of an approved gated command before it changes anything;
    when that line cannot be written, stop (fail closed) with AuditUnavailableError."""
    result = Result(
        operation=operation,
        status="approved",
        environment=env,
        result={"plan_id": plan["plan_id"]},
        message=f"{operation} on {env}: plan {plan['plan_id']} approved; starting",
    )
    try:
        record_line(config, result, None, 0.0, release=env)
    except (OSError, ValueError, FaberError) as exc:
        raise AuditUnavailableError(
            f"The audit trail {config.audit_path} cannot be written ({exc}); {operation} on "
            f"protected environment '{env}' was stopped before it changed anything.",
            suggestions=[
                f"Free disk space or repair {config.audit_path}, then run: faber-db audit --verify",
                "Re-run the same command afterwards",
            ],
        ) from None


def trail_name(config: Config) -> str:
    """The trail's path as anchors record it: relative to the project when inside it."""
    path = config.audit_path.resolve()
    try:
        return str(path.relative_to(config.project_root.resolve()))
    except ValueError:
        return str(path)


def audit_anchor(config: Config) -> dict | None:
    """The trail's head for a new catalogue entry ({"path", "seq", "hash"}), or None
    when the trail is empty or unreadable (verify reports a damaged trail itself)."""
    head = current_head(config.audit_path)
    return {"path": trail_name(config), **head} if head else None
