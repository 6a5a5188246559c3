"""The plugin running from a copy in a versioned cache folder, with an empty HOME,
the way Claude Code installs it (including the zero-setup runtime and the
SessionStart hook). Its manifests and frontmatter: tests/unit/test_plugin.py."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from support import REPO_ROOT, skip_outside_ci

from faber_db import __version__
from faber_db.resources import validation_errors

REPO = REPO_ROOT
SETUP_MESSAGE = "setting up a private Python environment"
BUILD_TIMEOUT = 900


# -- (c) the plugin from a versioned cache folder ---------------------------------------
def plugin_files() -> list[str]:
    """What a marketplace install copies: tracked and new (not ignored) files."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if listed.returncode != 0:
        skip_outside_ci("git is needed to list the plugin's files")
    return [name for name in listed.stdout.split("\0") if name and (REPO / name).is_file()]


@pytest.fixture(scope="module")
def installed_plugin(tmp_path_factory) -> Path:
    """The plugin copied to <tmp>/cache/faber-db/faber-db/<version>/, as Claude Code does."""
    root = tmp_path_factory.mktemp("plugins") / "cache" / "faber-db" / "faber-db" / __version__
    for name in plugin_files():
        if "__pycache__" in name:
            continue
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target)
    return root


def clean_environment(home: Path, **extra: str) -> dict[str, str]:
    """Our environment without anything that would point at this checkout or a runtime."""
    drop = ("CLAUDE_PLUGIN_DATA", "CLAUDE_PLUGIN_ROOT", "FABER_DB_", "PYTHON", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.pop("XDG_CACHE_HOME", None)
    env.pop("DEV_DATABASE_URL", None)
    return {**env, "HOME": str(home), **extra}


def run(args: list[str], cwd: Path, env: dict, timeout: float = 120):
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def test_plugin_runs_from_a_versioned_cache_folder(installed_plugin, tmp_path):
    project, home = tmp_path / "project", tmp_path / "home"
    home.mkdir()
    config_dir = project / ".fractary" / "plugins" / "faber-db"
    config_dir.mkdir(parents=True)
    config = {
        "database": {"provider": "sqlite"},
        "environments": {"dev": {"default_url": "sqlite:///app.db"}},
    }
    (config_dir / "config.json").write_text(json.dumps(config))
    env = clean_environment(home)
    faber = [sys.executable, str(installed_plugin / "bin" / "faber-db")]

    results = {}
    for command in (["db-create", "dev"], ["status", "dev"], ["backup", "dev"]):
        completed = run([*faber, *command, "--json"], project, env)
        data = json.loads(completed.stdout)
        assert validation_errors(data, "result") == [], data
        assert completed.returncode == 0, (command, data, completed.stderr)
        results[command[0]] = data
    assert results["status"]["result"]["engine"] == "sqlite"
    assert (project / results["backup"]["result"]["file"]).is_file()
    # The copy's own package ran (its bytecode was written there), not this checkout's.
    assert (installed_plugin / "faber_db" / "__pycache__").is_dir()
    assert not (home / ".cache" / "faber-db").exists()  # the Python had the dependencies


# -- (d, e) the zero-setup runtime ------------------------------------------------------
def require_package_index() -> None:
    """Skip when the package index cannot be reached; under CI=true, fail instead."""
    index = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple")
    parts = urlsplit(index)
    try:
        socket.create_connection((parts.hostname, parts.port or 443), timeout=5).close()
    except OSError as exc:
        skip_outside_ci(f"the package index {index} is unreachable: {exc}")


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory) -> Path:
    """A Python (3.10+) without faber-db's dependencies, and a HOME shared by the
    runtime tests so the second build can use pip's cache."""
    require_package_index()
    venv = tmp_path_factory.mktemp("bare") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    check = run([str(python), "-c", "import yaml"], venv, clean_environment(venv))
    assert check.returncode != 0, "the bare venv must not have the dependencies"
    return python


@pytest.fixture(scope="module")
def runtime_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("home")


@pytest.mark.slow
def test_first_run_builds_a_private_runtime_and_reuses_it(
    installed_plugin, bare_python, runtime_home
):
    data = runtime_home / "plugin-data"
    env = clean_environment(runtime_home, CLAUDE_PLUGIN_DATA=str(data))
    command = [str(bare_python), str(installed_plugin / "bin" / "faber-db"), "--version"]

    first = run(command, runtime_home, env, timeout=BUILD_TIMEOUT)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == f"faber-db {__version__}"
    assert SETUP_MESSAGE in first.stderr and "environment ready" in first.stderr
    stamp = data / "venv" / ".faber-db-stamp"
    assert stamp.is_file()
    built = stamp.stat().st_mtime_ns

    second = run(command, runtime_home, env)
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == f"faber-db {__version__}"
    assert SETUP_MESSAGE not in second.stderr
    assert stamp.stat().st_mtime_ns == built


@pytest.mark.slow
def test_session_start_hook_prepares_the_runtime(installed_plugin, bare_python, runtime_home):
    hooks = json.loads((installed_plugin / "hooks" / "hooks.json").read_text())["hooks"]
    hook = hooks["SessionStart"][0]["hooks"][0]
    data = runtime_home / "hook-data"
    path = f"{bare_python.parent}{os.pathsep}{os.environ.get('PATH', '')}"  # python3 = bare
    env = clean_environment(
        runtime_home,
        CLAUDE_PLUGIN_ROOT=str(installed_plugin),
        CLAUDE_PLUGIN_DATA=str(data),
        PATH=path,
    )
    shell = ["sh", "-c", hook["command"]]

    first = run(shell, runtime_home, env, timeout=min(hook["timeout"] * 3, BUILD_TIMEOUT))
    assert first.returncode == 0, first.stderr
    assert first.stdout == ""  # a SessionStart hook's stdout would reach the model
    assert (data / "venv" / ".faber-db-stamp").is_file()
    # The guard hook starts the interpreter recorded here (the private runtime's).
    assert (data / "guard-python").read_text().strip() == str(data / "venv" / "bin" / "python")

    again = run(shell, runtime_home, env)
    assert (again.returncode, again.stdout, again.stderr) == (0, "", "")
