"""`faber-db check <env>`, and the same assessment inside `migrate`: parse every
pending migration with the safety rules, measure the impact on the live
database, and apply the config's safety policy.

The approval plan carries only what a person approves (which rules fire where,
and what the policy demands); live figures such as row counts are shown beside
it but kept out of the plan_id, since they drift on a database in use.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from faber_db.config import Config
from faber_db.engines import engine_for
from faber_db.engines.base import Engine
from faber_db.exit_codes import ExitStatus
from faber_db.migration_deployer import prisma_layout as prisma
from faber_db.migration_deployer.history import diagnose
from faber_db.migration_deployer.plan import version_tuple
from faber_db.migration_deployer.statements import database_errors
from faber_db.migration_deployer.tracking import TrackingTable
from faber_db.result import Result
from faber_db.safety_validator.findings import SEVERITIES


@dataclass
class SafetyReport:
    """Findings over the pending migrations and the policy's decision on them."""

    findings: list = field(default_factory=list)
    decision: object | None = None
    skipped: str | None = None

    @property
    def blocked(self) -> bool:
        """True when the policy forbids running these migrations."""
        return self.decision is not None and not self.decision.allowed

    def summary(self) -> dict[str, int]:
        """Findings per severity."""
        return {s: sum(1 for f in self.findings if f.severity == s) for s in SEVERITIES}

    def to_dict(self) -> dict:
        """Everything shown to a person: findings with their live impact, the decision."""
        return {
            "findings": [f.to_dict() for f in self.findings],
            "summary": self.summary(),
            "policy": self.decision.to_dict() if self.decision else None,
            "skipped": self.skipped,
        }

    def plan_part(self) -> dict:
        """What the approval covers: rules by location, and the policy's demands."""
        return {
            "rules": sorted(
                [f.rule, f.severity, f.migration or "", f.line, f.object or ""]
                for f in self.findings
            ),
            "approval": self.decision.approval if self.decision else "none",
            "require_backup": bool(self.decision and self.decision.require_backup),
            "blocked": bool(self.blocked),
        }

    def blocked_message(self) -> str:
        """One line per blocked finding with the policy's reason."""
        return "; ".join(
            f"{f.rule} of {f.object or '?'} in {f.migration} line {f.line}: {reason}"
            for f, reason in self.decision.blocked
        )


def assess(
    config: Config, env: str, engine: Engine, db, migrations: list, server_version: str
) -> SafetyReport:
    """Analyse these migrations (prisma.Migration) for `env` against its live database."""
    if not config.section("safety").get("validate_destructive_operations", True):
        return SafetyReport(skipped="safety.validate_destructive_operations is false")
    from faber_db.safety_validator import analyze_script, estimate_impact, evaluate_policy
    from faber_db.safety_validator.live_probe import LiveProbe

    findings = []
    for migration in migrations:
        findings += analyze_script(
            migration.text(), engine.name, migration.name, version_tuple(server_version)
        )
    estimate_impact(findings, LiveProbe(engine, db))
    decision = evaluate_policy(findings, config.section("safety"), env, config.is_protected(env))
    return SafetyReport(findings, decision)


def check_environment(config: Config, env: str) -> Result:
    """`faber-db check <env>`: the safety report for the pending migrations."""
    target = config.resolve(env)
    engine = engine_for(target.conn)
    directory = config.migrations_dir
    prisma.check_provider(directory, engine.prisma_provider)
    local = prisma.list_migrations(directory, config.max_migration_bytes)
    with engine.session() as db:
        with database_errors(engine, "reading the tracking table"):
            history = diagnose(local, TrackingTable(engine, db, config.migrations_table).read())
            version = engine.server_version(db)
        report = assess(config, env, engine, db, history.pending, version)
        from faber_db.safety_validator.down_proof import down_report

        downs = down_report(config, target, engine, db, local, version)
    result = check_result(env, [m.name for m in history.pending], report, config.warnings)
    if downs is not None:
        result.result["down_files"] = downs
        failed = downs["proof"]["failed"]
        result.message += f" {len(downs['files'])} down file(s): " + (
            f"{len(failed)} do(es) NOT restore the schema ({', '.join(failed)})."
            if failed
            else f"{len(downs['proof']['proven'])} proven on a scratch database."
        )
    return result


def check_result(env: str, pending: list[str], report: SafetyReport, warnings: list[str]) -> Result:
    """The Result of `check`: success, or exit 19 when something is blocked."""
    counts = report.summary()
    found = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no findings"
    result = Result(
        operation="check",
        environment=env,
        result={"pending": pending, **report.to_dict()},
        message=f"{len(pending)} pending migration(s) on {env}: {found}.",
        warnings=list(warnings) + (report.decision.warnings if report.decision else []),
    )
    if report.blocked:
        result.message += " Blocked by policy: " + report.blocked_message()
        result.exit_status = ExitStatus.BLOCKED_BY_POLICY
        result.suggestions = [
            "Change the migration, or run the blocked statement by hand outside faber-db"
        ]
    return result
