"""`faber-db schedule show|install|remove`, with HOME and XDG_CONFIG_HOME in tmp_path
(never the real user's systemd folder or crontab)."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from support import Project, basic_config, create_database

HAS_ANALYZE = shutil.which("systemd-analyze") is not None


@pytest.fixture
def scheduled(tmp_path) -> Project:
    database = create_database("sqlite", tmp_path)
    root = tmp_path / "project"
    root.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    project = Project(
        root,
        {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "FABER_TEST_DEV_URL": ""},
    )
    config = basic_config(dev="FABER_TEST_DEV_URL", staging="FABER_TEST_STAGING_URL")
    config["backup"] = {"schedule": {"dev": "6h", "staging": "daily@02:30"}}
    project.write_config(config)
    env_file = tmp_path / "faber.env"
    env_file.write_text(f"FABER_TEST_DEV_URL={database.url}\n")
    env_file.chmod(0o600)
    project.env_file = env_file
    project.units = home / ".config" / "systemd" / "user"
    return project


def test_dry_run_prints_verified_units_and_writes_nothing(scheduled):
    output = scheduled.run(
        "schedule",
        "install",
        "dev",
        "--systemd",
        "--env-file",
        str(scheduled.env_file),
        "--dry-run",
    )
    assert output.returncode == 0, output.stderr
    assert "[Timer]" in output.stdout and "OnCalendar=*:0/5" in output.stdout
    assert f"EnvironmentFile={scheduled.env_file}" in output.stdout
    assert "sqlite:///" not in output.stdout  # the file is named, never copied
    assert not scheduled.units.exists()
    code, out = scheduled.run_json(
        "schedule", "install", "--systemd", "--env-file", str(scheduled.env_file), "--dry-run"
    )
    assert code == 0 and out["status"] == "dry_run"
    assert out["result"]["environments"] == ["dev", "staging"]
    assert len(out["result"]["files"]) == 4
    if HAS_ANALYZE:
        assert out["result"]["verification"]["verified_with"] == "systemd-analyze verify"


def test_install_show_run_and_remove_systemd_units(scheduled):
    code, out = scheduled.run_json(
        "schedule", "install", "dev", "--systemd", "--env-file", str(scheduled.env_file)
    )
    assert code == 0, out
    service, timer = sorted(Path(p) for p in out["result"]["files"])
    assert service.parent == scheduled.units and service.suffix == ".service"
    assert timer.read_text() == out["result"]["files"][str(timer)]
    assert out["recovery"]["suggestions"][-1].startswith("systemctl --user enable --now ")
    if HAS_ANALYZE:  # the installed files, checked again by the test itself
        verify = subprocess.run(
            ["systemd-analyze", "verify", str(service), str(timer)], capture_output=True, text=True
        )
        assert verify.returncode == 0 and service.name not in verify.stderr, verify.stderr

    code, shown = scheduled.run_json("schedule", "show", "dev", "--systemd")
    assert code == 0 and shown["result"]["jobs"][0]["installed"] == "installed", shown

    first = run_service(service, tmp_env=scheduled.env)
    assert first["result"]["due"] is True and first["result"]["status"] == "valid", first
    second = run_service(service, tmp_env=scheduled.env)
    assert second["result"]["due"] is False

    wants = scheduled.units / "timers.target.wants"
    wants.mkdir()
    (wants / timer.name).symlink_to(timer)  # what systemctl enable would have made
    code, removed = scheduled.run_json("schedule", "remove", "dev", "--systemd")
    assert code == 0 and len(removed["result"]["removed"]) == 3, removed
    assert list(scheduled.units.rglob("*.timer")) == [] and not service.exists()
    audited = [
        json.loads(line)["operation"]
        for line in (scheduled.config_dir / "audit.jsonl").read_text().splitlines()
    ]
    assert "schedule-install" in audited and "schedule-remove" in audited


def run_service(service: Path, tmp_env: dict) -> dict:
    """Run the unit's ExecStart as systemd would: in WorkingDirectory, with only the
    EnvironmentFile's variables (plus PATH and HOME)."""
    settings = dict(re.findall(r"(?m)^(\w+)=(.*)$", service.read_text()))
    env = {"PATH": os.environ["PATH"], "HOME": tmp_env["HOME"]}
    for line in Path(settings["EnvironmentFile"]).read_text().splitlines():
        name, _, value = line.partition("=")
        env[name] = value
    argv = shlex.split(settings["ExecStart"]) + ["--json"]
    done = subprocess.run(
        argv, cwd=settings["WorkingDirectory"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_cron_dry_run_line_runs_in_an_empty_environment(scheduled):
    code, out = scheduled.run_json(
        "schedule", "install", "dev", "--cron", "--env-file", str(scheduled.env_file), "--dry-run"
    )
    assert code == 0 and out["status"] == "dry_run", out
    [line] = out["result"]["cron_lines"]
    assert line.startswith("*/5 * * * * cd ")
    assert str(scheduled.env_file) in line and "sqlite:///" not in line
    command = line.split(" ", 5)[5].rsplit(" # faber-db-schedule", 1)[0]
    # What cron does with it: /bin/sh -c, nearly empty environment.
    done = subprocess.run(
        ["/bin/sh", "-c", command],
        env={"PATH": "/usr/bin:/bin", "HOME": scheduled.env["HOME"]},
        timeout=120,
    )
    assert done.returncode == 0
    [entry] = scheduled.catalogue()["backups"]
    assert entry["reason"] == "scheduled" and entry["status"] == "valid"
    log = scheduled.config_dir / "state" / "schedule" / "dev.log"
    assert "Backup " in log.read_text()


def test_cron_show_without_crontab_says_unknown(scheduled):
    if shutil.which("crontab"):
        pytest.skip("crontab is installed: show reads the real user's crontab")
    code, out = scheduled.run_json("schedule", "show", "--cron")
    assert code == 0
    assert {j["installed"] for j in out["result"]["jobs"]} == {"unknown (crontab is not installed)"}
    code, out = scheduled.run_json(
        "schedule", "install", "dev", "--cron", "--env-file", str(scheduled.env_file)
    )
    assert code == 9 and out["error"]["code"] == "tool_missing"


def test_bad_inputs(scheduled, tmp_path):
    code, out = scheduled.run_json(
        "schedule", "install", "dev", "--env-file", str(tmp_path / "nope"), "--dry-run"
    )
    assert code == 2 and "no such file" in out["message"]
    loose = tmp_path / "loose.env"
    loose.write_text("X=1\n")
    loose.chmod(0o644)
    code, out = scheduled.run_json(
        "schedule", "install", "dev", "--cron", "--env-file", str(loose), "--dry-run"
    )
    assert code == 0 and any("chmod 600" in w for w in out["warnings"])
    code, out = scheduled.run_json("schedule", "install", "dev", "--cron", "--dry-run")
    assert any("$FABER_TEST_DEV_URL" in w for w in out["warnings"])
    assert scheduled.run_json("schedule", "show", "qa")[0] == 4
    config = json.loads((scheduled.config_dir / "config.json").read_text())
    del config["backup"]["schedule"]
    scheduled.write_config(config)
    code, out = scheduled.run_json("schedule", "show")
    assert code == 3 and out["error"]["code"] == "config_invalid"
    assert scheduled.run("schedule", "install", "--cron", "--systemd").returncode == 2
