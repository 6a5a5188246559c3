"""`faber-db drift <env>`: does the live schema match what its applied migrations
produce?

The migrations the tracking table records as applied are replayed, in directory
order and through the same Applier `migrate` uses, into a shadow database
(shadow.py); both schemas are introspected (engines/<engine>/introspection.py) and
compared object by object (schema_compare.py). The tracking table and
`drift.ignore` patterns are left out. Applied files whose checksum changed and
tracking rows without a file are reported beside the differences (the same
diagnosis `status` makes). The live database is only read.

The state is written to <state_dir>/drift/<env>.json for `health` and others.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from faber_db.config import Config
from faber_db.engines import engine_for
from faber_db.engines.base import Engine
from faber_db.errors import InvalidInputError, MissingEnvVarError, ShadowReplayError
from faber_db.exit_codes import ExitStatus
from faber_db.fsutil import atomic_write
from faber_db.health_checker import shadow as shadows
from faber_db.health_checker.schema_compare import compare_schemas, introspect
from faber_db.migration_deployer import prisma_layout as prisma
from faber_db.migration_deployer.apply import Applier, MigrationFailure
from faber_db.migration_deployer.history import History, diagnose
from faber_db.migration_deployer.plan import plan_migration
from faber_db.migration_deployer.statements import database_errors, summary
from faber_db.migration_deployer.tracking import TrackingTable
from faber_db.result import Progress, Result
from faber_db.timeutil import format_utc, utcnow

# The public API other skills use (rehearsal and down-migration checks compare two
# databases with introspect + compare_schemas).
__all__ = ["compare_schemas", "detect_drift", "drift_report", "introspect"]


def detect_drift(
    config: Config,
    environment: str,
    *,
    shadow_url: str | None = None,
    progress: Progress | None = None,
) -> dict:
    """The drift state of `environment` ({environment, checked_at, drift, differences,
    checksum_changed, orphan_rows}), also written to <state_dir>/drift/<env>.json."""
    return DriftCheck(config, environment, shadow_url, progress).run()["state"]


def drift_report(
    config: Config,
    environment: str,
    shadow_url: str | None = None,
    progress: Progress | None = None,
) -> Result:
    """`faber-db drift <env>`: the drift state as a Result (exit 22 when there is drift)."""
    outcome = DriftCheck(config, environment, shadow_url, progress).run()
    state = outcome["state"]
    return Result(
        operation="drift",
        environment=environment,
        result={**state, **outcome["details"]},
        message=drift_message(state, outcome["details"]),
        warnings=list(config.warnings) + outcome["warnings"],
        suggestions=drift_suggestions(environment, state),
        exit_status=ExitStatus.DRIFT_FOUND if state["drift"] else ExitStatus.SUCCESS,
    )


class DriftCheck:
    """One drift run: read the live side, replay into a shadow, compare."""

    def __init__(self, config: Config, env: str, shadow_url: str | None, progress) -> None:
        self.config = config
        self.target = config.resolve(env)
        self.engine = engine_for(self.target.conn)
        self.shadow_url = shadow_url or configured_shadow_url(config, env)
        self.progress = progress
        self.warnings: list[str] = []

    @property
    def env(self) -> str:
        """The environment name."""
        return self.target.environment

    def run(self) -> dict:
        """{state, details, warnings}; raises a FaberError when it cannot tell."""
        started = time.monotonic()
        history, actual, version = self._read_live()
        applied = [m for m in history.local if m.name in set(history.applied)]
        expected, shadow_kind = self._replay(applied, version)
        differences = compare_schemas(expected, actual, ignore_patterns(self.config))
        state = {
            "environment": self.env,
            "checked_at": format_utc(utcnow()),
            "drift": bool(differences or history.modified or history.missing),
            "differences": differences,
            "checksum_changed": list(history.modified),
            "orphan_rows": list(history.missing),
        }
        write_state(self.config, state)
        details = {
            "engine": self.engine.name,
            "replayed": [m.name for m in applied],
            "failed_rows": sorted({r.migration_name for r in history.failed}),
            "shadow": shadow_kind,
            "duration_seconds": round(time.monotonic() - started, 3),
        }
        return {"state": state, "details": details, "warnings": self.warnings}

    def _read_live(self) -> tuple[History, dict, str]:
        directory = self.config.migrations_dir
        if not directory.is_dir():
            self.warnings.append(f"No migrations directory at {directory} (migrations.directory).")
        local = prisma.list_migrations(directory, self.config.max_migration_bytes)
        self._notify(f"reading the schema of {self.env}")
        with self.engine.session() as db, database_errors(self.engine, "reading the live schema"):
            rows = TrackingTable(self.engine, db, self.config.migrations_table).read()
            version = self.engine.server_version(db)
            actual = self.engine.schema_model(db)
        history = diagnose(local, rows)
        if rows is None:
            self.warnings.append(
                f"{self.env} has no {self.config.migrations_table} table: no migration is "
                "recorded as applied, so every object counts as extra."
            )
        if history.failed:
            self.warnings.append(
                "Failed migration(s) are not replayed (what they left counts as extra): "
                + ", ".join(sorted({r.migration_name for r in history.failed}))
            )
        return history, actual, version

    def _replay(self, applied: list[prisma.Migration], version: str) -> tuple[dict, str]:
        if self.shadow_url:
            with shadows.given_shadow(self.engine, self.shadow_url, self.config.project_root) as s:
                return self._replay_into(s, applied), "given"
        self._notify("dropping shadows left by killed runs")
        dropped = shadows.drop_stale_shadows(self.engine, self.config.state_dir)
        if dropped:
            self.warnings.append(f"Dropped shadow(s) left by killed runs: {', '.join(dropped)}")
        with shadows.created_shadow(self.engine, self.config.state_dir) as shadow:
            return self._replay_into(shadow, applied), "created"

    def _replay_into(self, shadow: Engine, applied: list[prisma.Migration]) -> dict:
        with shadow.session() as db, database_errors(shadow, "replaying into the shadow"):
            version = shadow.server_version(db)
            tracking = TrackingTable(shadow, db, self.config.migrations_table)
            tracking.create()
            applier = Applier(shadow, db, tracking)
            for number, migration in enumerate(applied, 1):
                self._notify(f"replaying {migration.name} ({number}/{len(applied)})")
                outcome = applier.apply(plan_migration(shadow, migration, version))
                if isinstance(outcome, MigrationFailure):
                    raise replay_error(self.env, outcome)
            self._notify("reading the schema the migrations produce")
            return shadow.schema_model(db)

    def _notify(self, message: str) -> None:
        if self.progress is not None:
            self.progress(message)


def configured_shadow_url(config: Config, env: str) -> str | None:
    """The URL in the variable environments.<env>.shadow_url_env names, if set."""
    variable = config.environments.get(env, {}).get("shadow_url_env")
    if not variable:
        return None
    url = os.environ.get(variable)
    if not url:
        raise MissingEnvVarError(
            f"Environment variable {variable} is not set; environments.{env}.shadow_url_env "
            "says it holds the URL of the shadow database drift replays into.",
            suggestions=[f'export {variable}="postgresql://user@host:5432/shadow_db"'],
            details={"variable": variable},
        )
    return url


def ignore_patterns(config: Config) -> list[str]:
    """The tracking table (faber-db's own object) and drift.ignore."""
    configured = config.section("drift").get("ignore", [])
    if not isinstance(configured, list) or not all(isinstance(p, str) for p in configured):
        raise InvalidInputError("drift.ignore must be a list of name patterns.")
    return [config.migrations_table, *configured]


def state_path(config: Config, env: str) -> Path:
    """<state_dir>/drift/<env>.json."""
    return config.state_dir / "drift" / f"{env}.json"


def write_state(config: Config, state: dict) -> None:
    """Write the drift state atomically (other commands read it)."""
    path = state_path(config, state["environment"])
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, (json.dumps(state, indent=2, default=str) + "\n").encode("utf-8"))


def replay_error(env: str, outcome: MigrationFailure) -> ShadowReplayError:
    """An applied migration that does not replay: drift cannot tell what it should be."""
    failure = outcome.failure
    code = f"[{failure.code}] " if failure.code else ""
    return ShadowReplayError(
        f"Migration {outcome.name}, recorded as applied on {env}, fails when replayed into "
        f"an empty shadow database at {failure.where()}: {code}{failure.message.rstrip('.')}. "
        f"Statement: {summary(failure.sql, 160)}. The shadow was dropped; {env} was only read.",
        suggestions=[
            f"Check that {outcome.name}/migration.sql is the file that was applied "
            f"(faber-db status {env})",
            "A migration that depends on data or objects made outside migrations cannot "
            "be replayed; add them to a migration or to drift.ignore",
        ],
        details={"result": {"failed_migration": outcome.name, "statement": failure.to_dict()}},
    )


def drift_message(state: dict, details: dict) -> str:
    """One sentence: drift or not, and how much."""
    env, count = state["environment"], len(state["differences"])
    replayed = len(details["replayed"])
    if not state["drift"]:
        return f"No drift: {env} matches its {replayed} applied migration(s)."
    parts = [f"{count} difference(s)"] if count else []
    if state["checksum_changed"]:
        parts.append(f"{len(state['checksum_changed'])} applied file(s) edited")
    if state["orphan_rows"]:
        parts.append(f"{len(state['orphan_rows'])} tracking row(s) without a file")
    return f"Drift on {env}: " + ", ".join(parts) + f" (against {replayed} applied migration(s))."


def drift_suggestions(env: str, state: dict) -> list[str]:
    """What to do about drift."""
    if not state["drift"]:
        return []
    suggestions = []
    if state["differences"]:
        suggestions += [
            "Put the live-only changes into a new migration (faber-db generate-migration "
            "<name>), or undo them by hand",
            "List objects a team manages by hand in drift.ignore",
        ]
    if state["checksum_changed"]:
        suggestions.append(
            f"Restore the edited migration.sql files (git checkout); faber-db status {env}"
        )
    if state["orphan_rows"]:
        suggestions.append("Check out the migrations directory the database was deployed from")
    return suggestions
