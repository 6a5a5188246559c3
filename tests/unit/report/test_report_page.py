"""The report page rendered from model data (no database): well-formed HTML, every
backup id and migration name present, no external reference, data escaped, and the
timeline's geometry."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from report_support import external_references, parse_page

from faber_db.report.build import render_page
from faber_db.report.charts import LEFT, RIGHT, WIDTH, mark_colour, timeline_chart
from faber_db.report.model import (
    BackupPoint,
    ChainStatus,
    EnvironmentReport,
    Event,
    Finding,
    MigrationRecord,
    Report,
    StateFile,
    Tracking,
)

T0 = datetime(2026, 11, 1, 2, 0, tzinfo=timezone.utc)
HOSTILE = "<script>alert('x')</script> & \"quoted\""


def backup(n: int, **changes) -> BackupPoint:
    values = dict(
        id=f"backup-202611{n + 1:02d}-020000",
        time=T0 + timedelta(days=n),
        size_bytes=1000 * (n + 1),
        duration_seconds=0.5 + n,
        status="valid",
        expired=False,
        reason="manual",
        label=None,
    )
    return BackupPoint(**{**values, **changes})


def sample_report() -> Report:
    production = EnvironmentReport(
        name="production",
        protected=True,
        backups=[
            backup(0, expired=True),
            backup(1, remote_status="verified", encrypted=True),
            backup(2, status="failed"),
            backup(3, remote_status="failed"),
        ],
        events=[
            Event(T0 + timedelta(days=2, hours=3), "rollback", "success", HOSTILE, "backup-x"),
            Event(T0 + timedelta(days=3, hours=1), "restore", "error", "dana", error_code="x"),
        ],
        migrations=[
            MigrationRecord(
                name="20261101000000_drop_notes",
                applied_at="2026-11-02T10:00:00Z",
                user="dana",
                agent_claimed="claude-code",
                plan_id="plan-0123456789abcdef",
                findings=[Finding("drop_column", "danger", "account.notes", HOSTILE)],
                plan_kept=True,
                approved=True,
                state="applied",
            ),
            MigrationRecord(name="20261001000000_init", applied_at=None, in_audit=False),
            MigrationRecord(
                name="20261102000000_add_index",
                applied_at="2026-11-03T10:00:00Z",
                user="dana",
                plan_id="plan-fedcba9876543210",
            ),
        ],
        tracking=Tracking(True, "postgresql 15.4 at postgresql://app:***@db/app", "postgresql"),
        health=StateFile(
            "health",
            "/p/health/production.json",
            {
                "environment": "production",
                "checked_at": "2026-11-04T00:00:00Z",
                "status": "failed",
                "checks": [{"name": "replication_lag", "status": "failed", "detail": HOSTILE}],
            },
        ),
        drift=StateFile("drift", "/p/drift/production.json", problem="not a readable JSON object"),
    )
    staging = EnvironmentReport(
        name="staging", protected=False, tracking=Tracking(False, "connection_failed: refused")
    )
    return Report(
        generated_at=T0 + timedelta(days=5),
        project="/srv/app",
        config_path="/srv/app/.fractary/plugins/faber-db/config.json",
        chain=ChainStatus(False, 12, 3, 13, "line 13 has no hash", "/srv/app/audit.jsonl"),
        environments=[production, staging],
        warnings=["staging: the tracking table was not read: connection_failed: refused"],
    )


def test_page_is_well_formed_and_holds_every_id():
    html = render_page(sample_report())
    parser = parse_page(html)
    text = "".join(parser.text)
    for b in sample_report().environments[0].backups:
        assert b.id in text
    for name in ("20261101000000_drop_notes", "20261001000000_init", "plan-0123456789abcdef"):
        assert name in text
    assert "chain BROKEN" in text and "line 13 has no hash" in text
    assert "unreachable" in text and "connection_failed: refused" in text
    assert "replication_lag" in text and "not a readable JSON object" in text
    assert "dana via claude-code (claimed)" in text
    assert text.count("no approval needed") == 1  # the unapproved plan only


def test_page_has_no_external_reference():
    html = render_page(sample_report())
    assert external_references(html, parse_page(html)) == []


def test_data_is_escaped_not_markup():
    html = render_page(sample_report())
    parser = parse_page(html)
    assert "<script>" not in html
    assert not any(tag == "script" for tag, _ in parser.tags)
    assert HOSTILE in "".join(parser.text)  # shown as text


def test_timeline_geometry():
    env = sample_report().environments[0]
    chart = timeline_chart(env)
    sizes, durations = chart.panels
    assert len(sizes.bars) == len(durations.bars) == 4
    xs = [bar.x for bar in sizes.bars]
    assert xs == sorted(xs) and xs[0] > LEFT - 20 and xs[-1] < WIDTH
    assert max(bar.height for bar in sizes.bars) == 90  # the largest fills the panel
    assert [bar.fill for bar in sizes.bars] == [
        mark_colour("expired"),
        mark_colour("valid"),
        mark_colour("failed"),
        mark_colour("valid"),
    ]
    kinds = sorted(mark.kind for mark in chart.marks)
    assert kinds == ["migration", "migration", "remote", "remote", "restore", "rollback"]


def test_a_single_moment_sits_mid_axis_and_an_empty_environment_says_so():
    env = EnvironmentReport(name="dev", protected=False, backups=[backup(0)])
    bar = timeline_chart(env).panels[0].bars[0]
    assert abs(bar.x + bar.width / 2 - (LEFT + (WIDTH - RIGHT - LEFT) / 2)) < 1
    empty = EnvironmentReport(name="dev", protected=False)
    assert timeline_chart(empty).empty
    report = sample_report()
    report.environments = [empty]
    assert "No backups, restores, rollbacks or migrations recorded yet" in render_page(report)
