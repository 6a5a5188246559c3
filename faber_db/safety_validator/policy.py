"""Weigh findings against the ``safety`` section of the config (pure logic).

Decisions, in order, for every finding:

1. Blocked: a rule configured ``"allowed": false`` is blocked on every
   environment, with its ``block_reason``. A rule without config whose
   severity is "blocked" (drop_database, drop_schema) is blocked too.
2. Approval, only on protected environments (``protected_environments``,
   default production and staging): the rule's ``approval`` when configured,
   else by severity: danger (or an allowed blocked rule) needs "enhanced",
   warning "standard", info none. With ``row_threshold``, the approval
   applies only when the finding's impact rows reach the threshold, or when
   the row count is unknown. Elsewhere nothing needs approval.
3. Backup: required when ``backup_enforcement`` for the environment is
   "required" (default: required on protected environments, optional
   elsewhere), or, on a protected environment, when a finding's rule sets
   ``require_backup`` (default: true for danger findings).

Enhanced approval means a person types the names in ``enhanced_objects``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from faber_db.safety_validator.findings import RULES, Finding

APPROVAL_LEVELS = ("none", "standard", "enhanced")
DEFAULT_PROTECTED = ("production", "staging")
DEFAULT_BLOCK_REASON = "DROP DATABASE/SCHEMA is never run by automation; run it by hand"
_SEVERITY_APPROVAL = {
    "info": "none",
    "warning": "standard",
    "danger": "enhanced",
    "blocked": "enhanced",
}


@dataclass
class PolicyDecision:
    """What the policy demands before a plan with these findings may run."""

    blocked: list[tuple[Finding, str]] = field(default_factory=list)
    approval: str = "none"
    enhanced_objects: list[str] = field(default_factory=list)
    require_backup: bool = False
    warnings: list[str] = field(default_factory=list)
    protected: bool = False

    @property
    def allowed(self) -> bool:
        """True when no finding is blocked."""
        return not self.blocked

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the decision."""
        return {
            "allowed": self.allowed,
            "blocked": [{"finding": f.to_dict(), "reason": reason} for f, reason in self.blocked],
            "approval": self.approval,
            "enhanced_objects": list(self.enhanced_objects),
            "require_backup": self.require_backup,
            "warnings": list(self.warnings),
            "protected": self.protected,
        }


def evaluate_policy(
    findings: list[Finding], safety: dict | None, environment: str, protected: bool | None = None
) -> PolicyDecision:
    """The decision for running findings' migration on environment under safety config.

    `protected` is the config's own answer (Config.is_protected, which also honours
    an environment's require_approval); by default it comes from protected_environments.
    """
    safety = safety or {}
    rules = safety.get("destructive_operations") or {}
    if protected is None:
        protected = environment in safety.get("protected_environments", DEFAULT_PROTECTED)
    decision = PolicyDecision(protected=protected, warnings=_config_warnings(rules))
    enforcement = _backup_enforcement(safety, environment, protected)
    decision.require_backup = enforcement == "required"
    for finding in findings:
        _apply(decision, finding, rules.get(finding.rule) or {}, protected)
    risky = any(f.severity in ("danger", "blocked") for f in findings)
    if enforcement == "recommended" and risky and not decision.require_backup:
        decision.warnings.append(f"a backup is recommended on {environment} before this migration")
    return decision


def _apply(decision: PolicyDecision, finding: Finding, config: dict, protected: bool) -> None:
    reason = block_reason(finding, config)
    if reason is not None:
        decision.blocked.append((finding, reason))
        return
    level = approval_for(finding, config, protected, decision.warnings)
    if APPROVAL_LEVELS.index(level) > APPROVAL_LEVELS.index(decision.approval):
        decision.approval = level
    target = finding.object or finding.rule
    if level == "enhanced" and target not in decision.enhanced_objects:
        decision.enhanced_objects.append(target)
    # An explicit require_backup applies everywhere; by default only protected
    # environments back up before a dangerous change.
    if config.get("require_backup", protected and finding.severity in ("danger", "blocked")):
        decision.require_backup = True


def block_reason(finding: Finding, config: dict) -> str | None:
    """Why the finding may not run at all, or None."""
    allowed = config.get("allowed")
    if allowed is False:
        return str(
            config.get("block_reason") or f"{finding.rule} is not allowed by the safety policy"
        )
    if allowed is None and finding.severity == "blocked":
        if finding.rule in ("drop_database", "drop_schema"):
            return DEFAULT_BLOCK_REASON
        return f"{finding.rule} is blocked unless safety.destructive_operations allows it"
    return None


def approval_for(finding: Finding, config: dict, protected: bool, warnings: list[str]) -> str:
    """The approval level one finding needs ("none", "standard" or "enhanced")."""
    if not protected:
        return "none"
    if _below_threshold(finding, config):
        rows = finding.impact["rows"] if finding.impact else 0
        warnings.append(
            f"{finding.rule} on {finding.object}: {rows} rows, below the approval threshold "
            f"of {config['row_threshold']}"
        )
        return "none"
    level = config.get("approval", _SEVERITY_APPROVAL.get(finding.severity, "standard"))
    if level not in APPROVAL_LEVELS:
        warnings.append(f"{finding.rule}: unknown approval {level!r}, using 'enhanced'")
        return "enhanced"
    return level


def _below_threshold(finding: Finding, config: dict) -> bool:
    threshold = config.get("row_threshold")
    rows = (finding.impact or {}).get("rows")
    return isinstance(threshold, int) and isinstance(rows, int) and rows < threshold


def _backup_enforcement(safety: dict, environment: str, protected: bool) -> str:
    enforcement = (safety.get("backup_enforcement") or {}).get(environment)
    return enforcement or ("required" if protected else "optional")


def _config_warnings(rules: dict) -> list[str]:
    return [
        f"safety.destructive_operations.{name} is not a known rule and has no effect"
        for name in rules
        if name not in RULES
    ]
