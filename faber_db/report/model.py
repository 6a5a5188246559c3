"""The data a report shows, as small dataclasses (collect fills them, the
template reads them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class BackupPoint:
    """One catalogue entry on the timeline."""

    id: str
    time: datetime
    size_bytes: int
    duration_seconds: float
    status: str
    expired: bool
    reason: str
    label: str | None
    remote_status: str | None = None
    encrypted: bool = False

    @property
    def mark(self) -> str:
        """valid, expired, or the status a backup that is not valid has."""
        if self.status == "valid" and self.expired:
            return "expired"
        return self.status


@dataclass
class Event:
    """A restore or rollback (any outcome) from the audit trail."""

    time: datetime
    operation: str
    result: str
    user: str
    backup_id: str | None = None
    safety_backup_id: str | None = None
    plan_id: str | None = None
    error_code: str | None = None
    migrations_rolled_back: list[str] = field(default_factory=list)


@dataclass
class Finding:
    """A safety finding of an approved plan."""

    rule: str
    severity: str
    object: str | None
    message: str


@dataclass
class MigrationRecord:
    """A migration applied to an environment: when, by whom, under which plan."""

    name: str
    applied_at: str | None
    user: str | None = None
    agent_claimed: str | None = None
    plan_id: str | None = None
    findings: list[Finding] = field(default_factory=list)
    plan_kept: bool | None = None  # None: no plan; False: its file is not kept
    approved: bool = False  # a person approved plan_id (an `approved` audit line)
    in_audit: bool = True
    state: str | None = None  # from the tracking table, when it could be read


@dataclass
class Tracking:
    """What the environment's tracking table said, or why it could not be read."""

    reachable: bool
    detail: str
    engine: str | None = None
    applied: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass
class StateFile:
    """A health or drift result read from <state_dir>/<kind>/<env>.json."""

    kind: str
    path: str
    data: dict | None = None
    problem: str | None = None


@dataclass
class EnvironmentReport:
    """Everything the page shows about one environment."""

    name: str
    protected: bool
    configured: bool = True
    backups: list[BackupPoint] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    migrations: list[MigrationRecord] = field(default_factory=list)
    tracking: Tracking | None = None
    health: StateFile | None = None
    drift: StateFile | None = None


@dataclass
class ChainStatus:
    """The audit chain's verification, as `faber-db audit --verify` reports it."""

    ok: bool
    lines: int
    anchors_checked: int
    first_broken_line: int | None = None
    problem: str | None = None
    path: str = ""


@dataclass
class Report:
    """The whole page."""

    generated_at: datetime
    project: str
    config_path: str
    chain: ChainStatus
    environments: list[EnvironmentReport]
    warnings: list[str] = field(default_factory=list)
