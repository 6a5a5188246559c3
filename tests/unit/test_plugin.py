"""The Claude Code plugin: frontmatter of commands, skills and the agent, and the
manifests. Running it from a versioned cache folder (and the zero-setup runtime)
is tests/integration/test_plugin_install.py."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from support import REPO_ROOT

from faber_db import __version__

REPO = REPO_ROOT
COMMAND_FILES = sorted((REPO / "commands").glob("*.md"))
SKILL_DIRS = sorted(p for p in (REPO / "skills").iterdir() if p.is_dir())
AGENT_FILES = sorted((REPO / "agents").glob("*.md"))

ALLOWED_TOOLS = "Bash(faber-db:*)"
# Commands only a person may start (they change a database, the project's safety
# policy, or delete backups). backup (reads the database, writes a new verified
# file), generate-migration (writes a new file; nothing runs until migrate) and the
# read-only commands stay available to the model.
PERSON_ONLY = {
    "init",
    "db-create",
    "migrate",
    "resolve",
    "restore",
    "rollback",
    "backups",
    "schedule",
}
MODEL_INVOCABLE = {
    "backup",
    "generate-migration",
    "status",
    "check",
    "audit",
    "drift",
    "report",
    "health",
}
SKILL_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
SKILL_KEYS = {"name", "description", "license", "compatibility", "metadata", "allowed-tools"}
POSITIONAL = re.compile(r"\$(\d|ARGUMENTS\[)")


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
