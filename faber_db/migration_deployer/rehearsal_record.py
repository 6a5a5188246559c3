"""The record of rehearsals (`migrate --rehearse`), and the policy that reads it.

<state_dir>/rehearsals/<env>.json holds {environment, rehearsals: [...]}, newest
last, each {plan_id, backup_id, backup_taken_at, taken_at, passed, mode,
duration_seconds, migrations}. `safety.require_rehearsal: [env, ...]` makes
`migrate` refuse a plan with no passing *full* rehearsal of the same plan_id taken
within `safety.rehearsal_max_age_hours` (default 24): a schema-only copy proves the
DDL, not what it does to the data, so it is recorded but never counts.
"""

from __future__ import annotations

import json
from datetime import timedelta

from faber_db.config import Config
from faber_db.errors import RehearsalRequiredError
from faber_db.fsutil import atomic_write
from faber_db.human_text import human_duration
from faber_db.locks import file_lock
from faber_db.timeutil import parse_utc, utcnow

KEPT = 20
DEFAULT_MAX_AGE_HOURS = 24.0


def _path(config: Config, env: str):
    # env is an environment name the config resolved (checked), never user text as such
    return config.state_dir / "rehearsals" / f"{env}.json"


def rehearsals(config: Config, env: str) -> list[dict]:
    """The recorded rehearsals of `env`, oldest first ([] when none or unreadable)."""
    path = _path(config, env)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    found = data.get("rehearsals") if isinstance(data, dict) else None
    return [r for r in found if isinstance(r, dict)] if isinstance(found, list) else []


def record_rehearsal(config: Config, env: str, record: dict) -> None:
    """Append one rehearsal to the environment's record (atomic, under a lock)."""
    path = _path(config, env)
    path.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(path.with_suffix(".lock"), 30.0, f"the rehearsal record of {env}"):
        kept = (rehearsals(config, env) + [record])[-KEPT:]
        data = {"environment": env, "rehearsals": kept}
        atomic_write(path, json.dumps(data, indent=2, default=str).encode("utf-8"))


def max_age_hours(config: Config) -> float:
    """safety.rehearsal_max_age_hours (default 24)."""
    value = config.section("safety").get("rehearsal_max_age_hours", DEFAULT_MAX_AGE_HOURS)
    return float(value) if isinstance(value, int | float) else DEFAULT_MAX_AGE_HOURS


def passing_rehearsal(config: Config, env: str, plan: str) -> dict | None:
    """The newest passing full rehearsal of plan_id `plan` within the maximum age."""
    oldest = utcnow() - timedelta(hours=max_age_hours(config))
    for record in reversed(rehearsals(config, env)):
        if record.get("plan_id") != plan or not record.get("passed"):
            continue
        if record.get("mode") != "full":
            continue
        try:
            if parse_utc(str(record.get("taken_at"))) >= oldest:
                return record
        except ValueError:
            continue
    return None


def requires_rehearsal(config: Config, env: str) -> bool:
    """True when safety.require_rehearsal names `env`."""
    required = config.section("safety").get("require_rehearsal") or []
    return isinstance(required, list) and env in required


def describe(record: dict) -> str:
    """'rehearsed on backup X (taken T): passed in 12.3 s'."""
    outcome = "passed" if record.get("passed") else "FAILED"
    return (
        f"rehearsed on backup {record.get('backup_id')} (taken {record.get('backup_taken_at')}): "
        f"{outcome} in {human_duration(record.get('duration_seconds'))}"
    )


def check_required(config: Config, env: str, plan: str) -> dict | None:
    """The passing rehearsal that lets `plan` deploy on `env`; RehearsalRequiredError
    when the policy requires one and there is none. None when no rehearsal is needed
    and none was found."""
    found = passing_rehearsal(config, env, plan)
    if found is not None or not requires_rehearsal(config, env):
        return found
    hours = max_age_hours(config)
    raise RehearsalRequiredError(
        f"safety.require_rehearsal covers {env}: plan {plan} has no passing full rehearsal "
        f"in the last {hours:g} h. Nothing was changed.",
        suggestions=[
            f"faber-db migrate {env} --rehearse  (restores the newest backup into a scratch "
            "database and applies the plan there; the target is not touched)",
            f"faber-db migrate {env} --dry-run",
        ],
        details={"result": {"plan_id": plan, "rehearsal_max_age_hours": hours}},
    )
