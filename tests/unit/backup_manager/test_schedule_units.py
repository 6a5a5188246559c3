"""The systemd units and the crontab line schedule install writes (pure)."""

from pathlib import Path

import pytest

from faber_db.backup_manager.schedule_units import (
    ScheduledJob,
    check_path,
    cron_line,
    service_text,
    timer_text,
    without_env_file,
    without_job_lines,
)
from faber_db.errors import InvalidInputError


def job(env="production", root="/srv/my app", env_file="/etc/app/faber.env") -> ScheduledJob:
    return ScheduledJob(
        env=env,
        project_root=Path(root),
        command=("/opt/venv/bin/python", "-m", "faber_db", "backup", env, "--if-due"),
        env_file=Path(env_file) if env_file else None,
        log_file=Path(root) / "state" / f"{env}.log",
        schedule="daily@02:30",
    )


def test_service_runs_backup_if_due_in_the_project_with_the_env_file():
    text = service_text(job())
    assert "Type=oneshot" in text
    assert "WorkingDirectory=/srv/my app" in text
    assert "EnvironmentFile=/etc/app/faber.env" in text
    assert "ExecStart=/opt/venv/bin/python -m faber_db backup production --if-due" in text


def test_service_escapes_systemd_specifiers_and_quotes():
    special = ScheduledJob(
        "dev", Path("/p/100%"), ("/a b/py", "$HOME", "-m"), None, Path("/l"), "6h"
    )
    text = service_text(special)
    assert "WorkingDirectory=/p/100%%" in text
    assert 'ExecStart="/a b/py" "$$HOME" -m' in text
    assert "EnvironmentFile" not in text


def test_timer_polls_every_five_minutes_and_names_its_service():
    one = job()
    text = timer_text(one)
    assert "OnCalendar=*:0/5" in text and "Persistent=true" in text
    assert f"Unit={one.unit_name}.service" in text
    assert "WantedBy=timers.target" in text


def test_unit_names_differ_per_project_and_environment():
    names = {job().unit_name, job(env="staging").unit_name, job(root="/srv/other").unit_name}
    assert len(names) == 3
    assert job().unit_name.startswith("faber-db-backup-my-app-")


def test_cron_line_exports_the_env_file_and_is_tagged():
    line = cron_line(job())
    assert line.startswith("*/5 * * * * cd '/srv/my app' && mkdir -p '/srv/my app/state' && ")
    assert "&& set -a && . /etc/app/faber.env && set +a && " in line
    assert "exec /opt/venv/bin/python -m faber_db backup production --if-due >>" in line
    assert line.endswith(job().cron_tag)
    assert "\n" not in line


def test_cron_line_escapes_percent():
    assert "\\%" in cron_line(job(root="/srv/100%"))


def test_install_replaces_only_its_own_line():
    mine, other = job(), job(env="staging")
    crontab = "\n".join(["MAILTO=ops", cron_line(mine), cron_line(other), "0 1 * * * echo hi"])
    assert without_job_lines(crontab, mine) == ["MAILTO=ops", cron_line(other), "0 1 * * * echo hi"]


def test_show_compares_without_the_env_file():
    assert without_env_file(cron_line(job())) == without_env_file(cron_line(job(env_file=None)))
    assert without_env_file(service_text(job())) == service_text(job(env_file=None))


def test_paths_with_control_characters_are_refused():
    with pytest.raises(InvalidInputError):
        check_path(Path("/srv/evil\nExecStart=/bin/sh"), "The project directory")
