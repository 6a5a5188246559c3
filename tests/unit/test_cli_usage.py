"""Usage errors: with --json anywhere on the command line, one result object
(usage_error, exit 2, the valid choices and the help to read); without it,
argparse's own text and no JSON."""

from __future__ import annotations

import json

import pytest
from support import Project, basic_config

from faber_db.exit_codes import ExitStatus

USAGE_ERRORS = {
    "unknown command": (["nonsense"], "choose from", "faber-db --help"),
    "no command": ([], "choose from", "faber-db --help"),
    "unknown action": (["backups", "frob"], "choose from", "faber-db backups --help"),
    "unknown flag": (["backup", "dev", "--frob"], "--label", "faber-db backup --help"),
    "bad format": (["backup", "dev", "--format", "tarball"], "'custom'", "faber-db backup --help"),
    "bad compression": (
        ["backup", "dev", "--compression", "rar"],
        "'zstd'",
        "faber-db backup --help",
    ),
    "missing argument": (["backups", "delete"], "required: id", "faber-db backups delete --help"),
    "conflicting flags": (
        ["rollback", "dev", "--from", "a", "--to", "b"],
        "not allowed with",
        "faber-db rollback --help",
    ),
    "one of two required": (["resolve", "dev"], "--applied", "faber-db resolve --help"),
}


@pytest.fixture
def project(tmp_path):
    project = Project(tmp_path, {"FABER_TEST_DEV_URL": f"sqlite:///{tmp_path / 'app.db'}"})
    project.write_config(basic_config(dev="FABER_TEST_DEV_URL"))
    return project


@pytest.mark.parametrize("kind", sorted(USAGE_ERRORS))
def test_usage_error_with_json_is_one_result_object(project, kind):
    args, in_message, suggestion = USAGE_ERRORS[kind]
    for where in (0, len(args)):  # --json first or last: anywhere on the line
        line = [*args[:where], "--json", *args[where:]]
        output = project.run(*line)
        assert output.returncode == ExitStatus.USAGE, line
        data = output.json  # exactly one object, valid against the schema
        assert data["status"] == "error" and data["error"]["code"] == "usage_error"
        assert in_message in data["message"], data["message"]
        assert suggestion in data["recovery"]["suggestions"]
        assert "usage:" not in output.stderr


@pytest.mark.parametrize("kind", sorted(USAGE_ERRORS))
def test_usage_error_without_json_keeps_argparse_text(project, kind):
    args, _, _ = USAGE_ERRORS[kind]
    output = project.run(*args)
    assert output.returncode == ExitStatus.USAGE
    assert output.stdout == ""
    assert output.stderr.startswith("usage: faber-db") and "error: " in output.stderr
    with pytest.raises(json.JSONDecodeError):
        json.loads(output.stderr)


def test_usage_error_code_is_documented():
    from support import REPO_ROOT

    commands = (REPO_ROOT / "docs" / "COMMANDS.md").read_text()
    assert "`usage_error`" in commands
