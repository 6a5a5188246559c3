"""`faber-db report` on a real history, on each engine: a protected environment
migrated through an approved plan with a finding, backed up and rolled back; the
page is well formed, holds every backup id and migration name, has no external
reference, shows fixture health and drift files and an unreachable database; and
Chromium renders it to a screenshot that is not blank."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from html import unescape

import pytest
from migration_support import SIMPLE, configure, write_migrations
from report_support import external_references, luminance_stats, parse_page
from support import Project, basic_config, skip_outside_ci

from faber_db.audit import verify_chain

DROP = {"20240104000000_drop_email": "ALTER TABLE account DROP COLUMN email;\n"}
PROVIDERS = {"postgresql": "postgresql", "mysql": "mysql", "sqlite": "sqlite"}
HEALTH = {
    "environment": "dev",
    "checked_at": "2026-12-01T09:00:00Z",
    "status": "failed",
    "checks": [
        {"name": "connection", "status": "ok", "detail": "SELECT 1 in 3 ms", "fix": None},
        {
            "name": "replication_lag_probe",
            "status": "failed",
            "detail": "lag 94 s",
            "fix": "faber-db health dev",
        },
    ],
}
DRIFT = {
    "environment": "dev",
    "checked_at": "2026-12-01T09:05:00Z",
    "drift": True,
    "differences": [
        {
            "object_type": "column",
            "object": "account.nickname_drifted",
            "attribute": "presence",
            "kind": "extra",
            "expected": None,
            "actual": "varchar(40)",
        }
    ],
    "checksum_changed": False,
    "orphan_rows": [],
}


@pytest.fixture
def history(project, engine_name):
    """dev protected, three migrations then a dropped column approved, a labelled
    backup, and an approved rollback to it."""
    configure(project, PROVIDERS[engine_name], safety={"protected_environments": ["dev"]})
    write_migrations(project, {**SIMPLE, **DROP}, PROVIDERS[engine_name])
    approve(project, "migrate", "dev")
    code, out = project.run_json("backup", "dev", "--label", "before-report")
    assert code == 0, out
    approve(project, "rollback", "dev", "--from", out["result"]["backup_id"])
    return project


def approve(project, *command):
    code, out = project.run_json(*command)
    assert code == 14, out
    code, out = project.run_json(*command, "--approve", out["result"]["plan_id"])
    assert code == 0, out
    return out


def write_report(project, *extra) -> tuple[dict, str]:
    code, out = project.run_json("report", "--output", "out/report.html", *extra)
    assert code == 0, out
    return out, (project.root / "out" / "report.html").read_text(encoding="utf-8")


def test_report_holds_the_whole_history(history):
    trail_before = (history.config_dir / "audit.jsonl").read_bytes()
    out, html = write_report(history)
    assert (history.config_dir / "audit.jsonl").read_bytes() == trail_before  # not audited
    parser = parse_page(html)
    text = unescape("".join(parser.text))
    assert external_references(html, parser) == []
    backups = history.catalogue()["backups"]
    assert {b["reason"] for b in backups} >= {"pre-migration", "manual", "pre-rollback"}
    for entry in backups:
        assert entry["id"] in text
    for name in [*SIMPLE, *DROP]:
        assert name in text
    trail = verify_chain(history.config_dir / "audit.jsonl").entries
    migrate = next(e for e in trail if e["operation"] == "migrate" and e["result"] == "success")
    assert migrate["plan_id"] in text and "drop_column" in text and "account.email" in text
    assert "no approval needed" not in text  # dev is protected: its plan was approved
    assert "chain verified" in text and "reachable" in text
    [dev] = out["result"]["environments"]
    assert dev["backups"] == len(backups) and dev["restores_and_rollbacks"] == 1
    assert dev["database"] == "reachable" and out["result"]["audit_chain_ok"] is True
    shows_health_drift_and_an_unreachable_database(history)


def shows_health_drift_and_an_unreachable_database(history):
    """The same history (built once per engine: it is the slow part), with fixture
    health and drift files and the database's URL unset."""
    state = history.config_dir / "state"
    for kind, data in (("health", HEALTH), ("drift", DRIFT)):
        (state / kind).mkdir(parents=True, exist_ok=True)
        (state / kind / "dev.json").write_text(json.dumps(data))
    unset = {**history.env, "FABER_TEST_DEV_URL": ""}
    history.env = unset
    out, html = write_report(history, "--env", "dev")
    text = unescape("".join(parse_page(html).text))
    assert "replication_lag_probe" in text and "lag 94 s" in text
    assert "account.nickname_drifted" in text and "drift found" in text
    assert "unreachable" in text and "FABER_TEST_DEV_URL" in text
    assert out["result"]["environments"][0]["database"] == "unreachable"
    assert any("tracking table was not read" in w for w in out["warnings"])
    for entry in history.catalogue()["backups"]:  # the catalogue still fills the page
        assert entry["id"] in text


@pytest.mark.parametrize("engine_name", ["sqlite"])
def test_report_renders_in_headless_chromium(project, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        skip_outside_ci("chromium is not installed (.ci/run installs it)")
    write_migrations(project, SIMPLE, "sqlite")
    assert project.run_json("migrate", "dev")[0] == 0
    assert project.run_json("backup", "dev")[0] == 0
    write_report(project)
    shot = tmp_path / "report.png"
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'chromium-profile'}",
            "--window-size=1000,900",
            f"--screenshot={shot}",
            (project.root / "out" / "report.html").as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    variance, colours = luminance_stats(shot)
    assert variance > 200 and colours > 20, (variance, colours)


def test_a_broken_chain_and_a_refused_connection_are_on_the_page_not_failures(tmp_path):
    """No server needed: dev is a SQLite file, staging a PostgreSQL URL with a password
    on a closed port. The password never reaches the page or the output. An
    environment removed from the config keeps its history on the page."""
    project = Project(
        tmp_path / "project",
        {
            "FABER_TEST_DEV_URL": f"sqlite:///{tmp_path / 'dev.db'}",
            "FABER_TEST_STAGING_URL": "postgresql://app:s3cret-pw@127.0.0.1:1/app",
        },
    )
    project.root.mkdir()
    sqlite3.connect(tmp_path / "dev.db").close()
    project.write_config(basic_config(dev="FABER_TEST_DEV_URL", staging="FABER_TEST_STAGING_URL"))
    code, out = project.run_json("backup", "dev")
    assert code == 0, out
    backup_id = out["result"]["backup_id"]
    trail = project.config_dir / "audit.jsonl"
    trail.write_text(trail.read_text().replace('"result": "success"', '"result": "edited"', 1))
    output = project.run("report", "--output", "out/report.html", "--json")
    assert output.returncode == 0, output.stdout
    result = output.json["result"]
    html = (project.root / "out" / "report.html").read_text(encoding="utf-8")
    text = unescape("".join(parse_page(html).text))
    assert result["audit_chain_ok"] is False and "chain BROKEN" in text
    assert backup_id in text  # the catalogue does not depend on the trail
    staging = next(e for e in result["environments"] if e["name"] == "staging")
    assert staging["database"] == "unreachable" and "unreachable" in text
    assert "s3cret-pw" not in html + output.stdout + output.stderr
    project.write_config(basic_config(staging="FABER_TEST_STAGING_URL"))  # dev removed
    code, out = project.run_json("report", "--no-database", "--output", "out/again.html")
    assert code == 0, out
    states = {e["name"]: e["database"] for e in out["result"]["environments"]}
    assert states == {"dev": "not configured", "staging": "not read"}
    assert backup_id in (project.root / "out" / "again.html").read_text(encoding="utf-8")
    code, out = project.run_json("report", "--output", "out")
    assert code == 2 and out["error"]["code"] == "invalid_input", out
    catalogue = project.catalogue_path.read_bytes()
    notes = project.root / "notes.txt"
    notes.write_text("not a report")
    for refused in (project.catalogue_path, notes):  # a report overwrites only a report
        code, out = project.run_json("report", "--output", str(refused))
        assert code == 2 and out["error"]["code"] == "invalid_input", out
    assert project.catalogue_path.read_bytes() == catalogue
    assert notes.read_text() == "not a report"
    code, out = project.run_json("report", "--env", "nowhere")
    assert code == 4 and out["error"]["code"] == "unknown_environment", out
