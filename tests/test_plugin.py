"""The Claude Code plugin: frontmatter of commands, skills and the agent, the
manifests, and the plugin running from a copy in a versioned cache folder, with
an empty HOME, the way Claude Code installs it (including the zero-setup runtime
and the SessionStart hook)."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from support import skip_outside_ci

from faber_db import __version__
from faber_db.resources import validation_errors

REPO = Path(__file__).resolve().parent.parent
COMMAND_FILES = sorted((REPO / "commands").glob("*.md"))
SKILL_DIRS = sorted(p for p in (REPO / "skills").iterdir() if p.is_dir())
AGENT_FILES = sorted((REPO / "agents").glob("*.md"))

ALLOWED_TOOLS = "Bash(faber-db:*)"
# Commands only a person may start (they change a database, the project's safety
# policy, or delete backups). backup (reads the database, writes a new verified
# file), generate-migration (writes a new file; nothing runs until migrate) and the
# read-only commands stay available to the model.
PERSON_ONLY = {"init", "db-create", "migrate", "resolve", "restore", "rollback", "backups"}
MODEL_INVOCABLE = {"backup", "generate-migration", "status", "check", "audit"}
SKILL_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
SKILL_KEYS = {"name", "description", "license", "compatibility", "metadata", "allowed-tools"}
POSITIONAL = re.compile(r"\$(\d|ARGUMENTS\[)")
SETUP_MESSAGE = "setting up a private Python environment"
BUILD_TIMEOUT = 900


def frontmatter(path: Path) -> tuple[dict, str]:
    """(YAML frontmatter, body) of a Markdown file."""
    text = path.read_text(encoding="utf-8")
    match = re.match(r"---\n(.*?)\n---\n(.*)", text, re.S)
    assert match, f"{path}: no frontmatter"
    return yaml.safe_load(match.group(1)), match.group(2)


# -- (a) frontmatter --------------------------------------------------------------------
def test_command_set_is_classified():
    assert {p.stem for p in COMMAND_FILES} == PERSON_ONLY | MODEL_INVOCABLE


@pytest.mark.parametrize("path", COMMAND_FILES, ids=lambda p: p.name)
def test_command_frontmatter(path):
    meta, body = frontmatter(path)
    assert isinstance(meta.get("description"), str) and len(meta["description"]) > 40
    assert isinstance(meta.get("argument-hint"), str) and meta["argument-hint"]
    assert meta.get("allowed-tools") == ALLOWED_TOOLS
    assert meta.get("disable-model-invocation", False) is (path.stem in PERSON_ONLY)
    assert f"faber-db {path.stem} $ARGUMENTS --json" in body


@pytest.mark.parametrize("path", COMMAND_FILES, ids=lambda p: p.name)
def test_command_body_has_no_positional_or_injected_shell(path):
    _, body = frontmatter(path)
    # Claude Code numbers arguments from $0 and replaces $N anywhere in the body;
    # `!` followed by a backtick would run a command before the model sees the text.
    assert not POSITIONAL.search(body)
    assert "!`" not in body


@pytest.mark.parametrize("skill", SKILL_DIRS, ids=lambda p: p.name)
def test_skill_follows_agent_skills_rules(skill):
    meta, body = frontmatter(skill / "SKILL.md")
    assert set(meta) <= SKILL_KEYS, set(meta) - SKILL_KEYS
    name = meta.get("name")
    assert name == skill.name
    assert SKILL_NAME.match(name) and len(name) <= 64
    assert "anthropic" not in name and "claude" not in name
    description = meta.get("description")
    assert isinstance(description, str) and 0 < len(description) <= 1024
    assert "<" not in description and ">" not in description
    assert "Use " in description  # says when to use it
    assert len(body.splitlines()) < 500
    assert "schemas/result.schema.json" in body and "docs/COMMANDS.md" in body
    assert not POSITIONAL.search(body) and "!`" not in body


@pytest.mark.parametrize("path", AGENT_FILES, ids=lambda p: p.name)
def test_agent_frontmatter(path):
    meta, body = frontmatter(path)
    assert meta.get("name") == path.stem and SKILL_NAME.match(path.stem)
    assert isinstance(meta.get("description"), str) and meta["description"]
    assert [t.strip() for t in meta["tools"].split(",")] == [ALLOWED_TOOLS, "Read"]
    assert not POSITIONAL.search(body)


def test_hook_builds_the_runtime_at_session_start():
    hooks = json.loads((REPO / "hooks" / "hooks.json").read_text())["hooks"]
    (group,) = hooks["SessionStart"]
    (hook,) = group["hooks"]
    assert hook["type"] == "command"
    assert hook["command"] == '"${CLAUDE_PLUGIN_ROOT}/bin/faber-db" --ensure-runtime'
    assert isinstance(hook["timeout"], int) and 60 <= hook["timeout"] <= 600


# -- (b) manifests ----------------------------------------------------------------------
def test_manifests_agree_with_the_package():
    plugin = json.loads((REPO / ".claude-plugin" / "plugin.json").read_text())
    market = json.loads((REPO / ".claude-plugin" / "marketplace.json").read_text())
    assert plugin["name"] == "faber-db" and plugin["version"] == __version__
    for key in ("description", "author", "homepage", "repository", "license", "keywords"):
        assert plugin.get(key), key
    (entry,) = market["plugins"]
    assert entry["name"] == "faber-db" and entry["source"] == "./"
    assert entry["version"] == __version__


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
