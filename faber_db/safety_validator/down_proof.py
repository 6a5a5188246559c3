"""`check` proves each down.sql on a scratch database: the migrations before N,
then N, then N's down file; the schema must be the one before N (compared object
by object with the drift comparison, health_checker/schema_compare.py, where the
engine describes its schema so; else the engine's canonical schema objects, the
schema fingerprint's input). The objects that differ are named. A down file that fails
or does not give that schema back is a `danger` finding.

Cost: one replay of the migration history, schema and migration data only, on
a scratch database named faber_downcheck_<pid>_<token> (a file in the state
folder for SQLite), always dropped. Nothing runs when no down file exists.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from faber_db.config import Config, Target
from faber_db.engines import engine_for
from faber_db.engines.base import Engine
from faber_db.engines.restorer import host_tag
from faber_db.errors import FaberError
from faber_db.migration_deployer import prisma_layout as prisma
from faber_db.migration_deployer.statements import run_statements
from faber_db.safety_validator.findings import SEVERITIES, Finding
from faber_db.sql.split import split_sql
from faber_db.workspace import process_alive

SCRATCH_PREFIX = "faber_downcheck_"
SCRATCH_RE = re.compile(r"^faber_downcheck_(\d+)_([0-9a-f]{4})[0-9a-f]{8}$")
RULE = "down_does_not_restore_schema"
DIFFERENCES_SHOWN = 3


@dataclass
class DownProof:
    """What proving the down files found."""

    findings: list[Finding] = field(default_factory=list)
    proven: list[str] = field(default_factory=list)  # down files that restore the schema
    not_proven: list[dict] = field(default_factory=list)  # {migration, reason}
    scratch_database: str | None = None
    duration_seconds: float = 0.0
    cleaned_up: list[str] = field(default_factory=list)  # left by killed runs, dropped

    def to_dict(self) -> dict:
        """JSON form (under result.down_files.proof)."""
        return {
            "proven": self.proven,
            "failed": [f.migration for f in self.findings],
            "not_proven": self.not_proven,
            "scratch_database": self.scratch_database,
            "cleaned_up": self.cleaned_up,
            "duration_seconds": round(self.duration_seconds, 3),
        }


def scratch_name(config: Config, engine: Engine) -> str:
    """A recognisable scratch database name, tied to this process and machine."""
    name = f"{SCRATCH_PREFIX}{os.getpid()}_{host_tag()}{secrets.token_hex(4)}"
    if engine.file_database:
        return str(_scratch_dir(config) / f"{name}.db")
    return name


def _scratch_dir(config: Config) -> Path:
    return config.state_dir / "scratch"


def drop_abandoned(config: Config, server: Engine) -> list[str]:
    """Drop the scratch databases of proofs whose process died (killed runs) on this
    machine; return their names. Another machine's or a live process's are kept."""
    if server.file_database:
        names = [str(p) for p in _scratch_dir(config).glob(f"{SCRATCH_PREFIX}*.db")]
    else:
        names = server.databases_with_prefix(SCRATCH_PREFIX)
    dropped = []
    for name in names:
        match = SCRATCH_RE.search(Path(name).stem if server.file_database else name)
        if match and match.group(2) == host_tag() and not process_alive(int(match.group(1))):
            server.drop_database(name)
            dropped.append(name)
    return dropped


def prove_down_files(config: Config, target: Target, migrations: list) -> DownProof:
    """Prove every down file of `migrations` (prisma.Migration, in order) on a scratch database."""
    proof = DownProof()
    if not any(m.has_down for m in migrations):
        return proof
    started = time.monotonic()
    server = engine_for(target.conn)
    proof.cleaned_up = drop_abandoned(config, server)
    name = scratch_name(config, server)
    proof.scratch_database = name
    scratch = engine_for(target.conn.with_database(name))
    server.create_scratch_database(name)
    try:
        _replay(server, scratch, name, migrations, proof)
    finally:
        server.drop_database(name)
        proof.duration_seconds = time.monotonic() - started
    return proof


def _replay(server: Engine, scratch: Engine, name: str, migrations: list, proof: DownProof):
    db = scratch.connect()
    try:
        for number, migration in enumerate(migrations):
            before = _snapshot(scratch, db) if migration.has_down else None
            problem = _run(scratch, db, migration)
            if problem is not None:
                proof.not_proven += _unprovable(migrations[number:], f"{migration.name}: {problem}")
                return
            if before is None:
                continue
            if _check_down(scratch, db, migration, before, proof):
                problem = _run(scratch, db, migration)  # back to N for the next ones
            else:
                problem = "rebuild"
            if problem is not None:
                scratch.abandon(db)
                server.drop_database(name)
                server.create_scratch_database(name)
                db = scratch.connect()
                for earlier in migrations[: number + 1]:
                    _run(scratch, db, earlier)
    finally:
        scratch.abandon(db)


def _check_down(scratch: Engine, db, migration, before: list[str], proof: DownProof) -> bool:
    """Run N's down file; True when the schema is the one before N."""
    down = migration.down()
    problem = _run(scratch, db, down)
    if problem is not None:
        proof.findings.append(_finding(migration, f"the down file fails: {problem}"))
        return False
    differences = _differences(before, _snapshot(scratch, db))
    if not differences:
        proof.proven.append(migration.name)
        return True
    proof.findings.append(_finding(migration, _describe(differences)))
    return False


def _snapshot(engine: Engine, db) -> tuple[str, object]:
    """The schema: the drift model where the engine has one, else its canonical objects."""
    if engine.introspection_module is not None:
        return "model", engine.schema_model(db)
    return "objects", sorted(engine.schema_objects(db))


def _run(engine: Engine, db, migration) -> str | None:
    """Run a script statement by statement; the failure in words, or None."""
    try:
        statements = split_sql(migration.text(), engine.name)
    except FaberError as error:  # not UTF-8, a NUL byte, too large
        return error.message
    failure = run_statements(engine, db, statements)
    if failure is None:
        return None
    return f"statement {failure.number} (line {failure.line}): {failure.message}"


def _differences(before: tuple, after: tuple) -> list[tuple[str, str]]:
    """(kind, what) for each difference: kind is missing (in the schema before N, not
    after its down file), extra (left by the down file) or changed."""
    kind, old = before
    new = after[1]
    if kind == "model":
        from faber_db.health_checker.schema_compare import compare_schemas

        return [
            (d["kind"], f"{d['object_type']} {d['object']}" + _attribute(d))
            for d in compare_schemas(old, new)
        ]
    return [("missing", o) for o in sorted(set(old) - set(new))] + [
        ("extra", o) for o in sorted(set(new) - set(old))
    ]


def _attribute(difference: dict) -> str:
    return f" ({difference['attribute']})" if difference.get("attribute") else ""


def _describe(differences: list[tuple[str, str]]) -> str:
    words = {
        "missing": "missing after the down file",
        "extra": "left by the down file",
        "changed": "changed",
    }
    parts = []
    for kind, label in words.items():
        found = [what for k, what in differences if k == kind]
        if found:
            shown = "; ".join(found[:DIFFERENCES_SHOWN])
            more = (
                f" and {len(found) - DIFFERENCES_SHOWN} more"
                if len(found) > DIFFERENCES_SHOWN
                else ""
            )
            parts.append(f"{label}: {shown}{more}")
    return (
        "the schema after the down file differs from the one before the migration ("
        + " | ".join(parts)
        + ")"
    )


def _finding(migration, why: str) -> Finding:
    return Finding(
        rule=RULE,
        severity="danger",
        message=f"{migration.name}/{prisma.DOWN_FILE} does not undo its migration: {why}",
        migration=f"{migration.name}/{prisma.DOWN_FILE}",
        statement_index=0,
        line=1,
        object=migration.name,
        statement="",
    )


def _unprovable(migrations: list, reason: str) -> list[dict]:
    return [
        {"migration": m.name, "reason": f"the history does not replay: {reason}"}
        for m in migrations
        if m.has_down
    ]


def down_report(config: Config, target: Target, engine: Engine, db, local: list, version: str):
    """result.down_files of `check`: the safety rules over every down.sql (live impact
    from `db`), then the proof of each on a scratch database. None without down files."""
    downs = [m.down() for m in local if m.has_down]
    if not downs:
        return None
    from faber_db.migration_deployer.plan import version_tuple
    from faber_db.safety_validator import analyze_script, estimate_impact
    from faber_db.safety_validator.live_probe import LiveProbe

    findings = []
    for down in downs:
        label = f"{down.name}/{prisma.DOWN_FILE}"
        findings += analyze_script(down.text(), engine.name, label, version_tuple(version))
    estimate_impact(findings, LiveProbe(engine, db))
    proof = prove_down_files(config, target, local)
    findings += proof.findings
    return {
        "files": [f"{d.name}/{prisma.DOWN_FILE}" for d in downs],
        "findings": [f.to_dict() for f in findings],
        "summary": {s: sum(1 for f in findings if f.severity == s) for s in SEVERITIES},
        "proof": proof.to_dict(),
    }
