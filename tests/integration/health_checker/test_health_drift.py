"""The drift check of `faber-db health`, against a stand-in for the drift helper's
detect_drift(config, env) (its real comparison is tested with drift itself)."""

from __future__ import annotations

import sys
import types

import pytest
from migration_support import SIMPLE, configure, write_migrations

from faber_db.config import load_config
from faber_db.errors import ConnectionFailedError
from faber_db.exit_codes import ExitStatus
from faber_db.health_checker.health import HealthOptions, run_health

DRIFT_MODULE = "faber_db.health_checker.drift"
DIFFERENCE = {
    "object_type": "column",
    "object": "account.nickname",
    "attribute": None,
    "kind": "extra",
    "expected": None,
    "actual": "varchar(20)",
}


@pytest.fixture
def config(project, monkeypatch):
    """The project's Config loaded in this process (migrated, so the rest is ok)."""
    configure(project, "sqlite")
    write_migrations(project, SIMPLE, "sqlite")
    assert project.run_json("migrate", "dev")[0] == 0
    monkeypatch.setenv("FABER_TEST_DEV_URL", project.env["FABER_TEST_DEV_URL"])
    return load_config(project.config_dir / "config.json")


def fake_drift(monkeypatch, detect) -> list:
    """Install a drift module whose detect_drift is `detect`; returns its calls."""
    calls: list = []
    module = types.ModuleType(DRIFT_MODULE)

    def detect_drift(config, env):
        calls.append(env)
        return detect(config, env)

    module.detect_drift = detect_drift
    monkeypatch.setitem(sys.modules, DRIFT_MODULE, module)
    return calls


def drift_check(result) -> dict:
    return next(c for c in result.result["checks"] if c["name"] == "drift")


@pytest.mark.parametrize("engine_name", ["sqlite"], indirect=True)
def test_drift_found_fails_and_names_the_difference(config, monkeypatch):
    found = {"drift": True, "differences": [DIFFERENCE], "checksum_changed": [], "orphan_rows": []}
    calls = fake_drift(monkeypatch, lambda c, e: found)
    result = run_health(config, "dev")
    assert calls == ["dev"]
    check = drift_check(result)
    assert check["status"] == "fail"
    assert check["detail"] == "1 difference(s) from the migrations: column account.nickname extra"
    assert check["fix"] == "faber-db drift dev"
    assert result.exit_status == ExitStatus.HEALTH_FAILED and result.status == "error"


@pytest.mark.parametrize("engine_name", ["sqlite"], indirect=True)
def test_no_drift_is_ok_and_no_drift_flag_skips_it(config, monkeypatch):
    none = {"drift": False, "differences": [], "checksum_changed": [], "orphan_rows": []}
    calls = fake_drift(monkeypatch, lambda c, e: none)
    result = run_health(config, "dev")
    assert drift_check(result)["status"] == "ok" and result.resolved_exit_status() == 0
    skipped = run_health(config, "dev", HealthOptions(drift=False))
    assert "drift" not in {c["name"] for c in skipped.result["checks"]}
    assert calls == ["dev"]


@pytest.mark.parametrize("engine_name", ["sqlite"], indirect=True)
def test_drift_module_absent_is_ok_not_available(config, monkeypatch):
    monkeypatch.setitem(sys.modules, DRIFT_MODULE, None)  # import raises ImportError
    check = drift_check(run_health(config, "dev"))
    assert check == {
        "name": "drift",
        "status": "ok",
        "detail": "drift check not available",
        "fix": None,
    }


@pytest.mark.parametrize("engine_name", ["sqlite"], indirect=True)
def test_drift_that_cannot_run_warns(config, monkeypatch):
    def refuse(c, e):
        raise ConnectionFailedError("cannot create the shadow database")

    fake_drift(monkeypatch, refuse)
    check = drift_check(run_health(config, "dev"))
    assert check["status"] == "warn" and "cannot create the shadow" in check["detail"]


@pytest.mark.parametrize("engine_name", ["sqlite"], indirect=True)
def test_pre_deploy_runs_drift_only_when_asked(config, project, monkeypatch):
    from faber_db.health_checker.health import pre_deploy_check

    none = {"drift": False, "differences": [], "checksum_changed": [], "orphan_rows": []}
    calls = fake_drift(monkeypatch, lambda c, e: none)
    report = pre_deploy_check(config, "dev", [])
    assert "drift" not in {c["name"] for c in report["checks"]} and calls == []
    configure(project, "sqlite", safety={"drift_check_before_deploy": True})
    report = pre_deploy_check(load_config(project.config_dir / "config.json"), "dev", [])
    assert "drift" in {c["name"] for c in report["checks"]} and calls == ["dev"]
