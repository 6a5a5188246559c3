"""workflows/faber-db.json: valid against the FABER workflow format
(schemas/faber-workflow.schema.json, written from the format's description), with
the database steps in the phases issue 17 puts them in, and naming only faber-db
commands, flags and skills that exist.

Commands being added on other branches are allowed by name in PENDING_*: the merge
drops each entry once the real parser (or skills/ folder) has it, and this test then
checks it against the real thing."""

from __future__ import annotations

import argparse
import json
import re
from functools import cache

import pytest
from support import REPO_ROOT

from faber_db.cli import build_parser
from faber_db.resources import validation_errors

WORKFLOW = REPO_ROOT / "workflows" / "faber-db.json"
PENDING_COMMANDS: set[str] = set()
PENDING_FLAGS: set[tuple[str, str]] = set()
PENDING_SKILLS: set[str] = set()
INVOCATION = re.compile(r"(?:/faber-db:|(?<![\w/-])faber-db )([a-z][a-z-]*)(?: ([a-z][a-z-]*))?")
FLAG = re.compile(r"(--[a-z][a-z-]*)")
SKILL = re.compile(r"\b[Uu]se the ([a-z][a-z0-9-]*) skill")
PHASES = ("frame", "architect", "build", "evaluate", "release")


def workflow() -> dict:
    return json.loads(WORKFLOW.read_text(encoding="utf-8"))


def steps(data: dict, phase: str | None = None, where: str | None = None) -> list[dict]:
    """The steps of one phase (one list of it, if given), or of all."""
    found = []
    for name in [phase] if phase else PHASES:
        for key in [where] if where else ("pre_steps", "steps", "post_steps"):
            found += data["phases"][name].get(key, [])
    return found


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


@cache
def cli() -> dict[str, set[str]]:
    """'migrate' -> its --flags, 'backups list' -> its flags (from the real parser)."""
    table = {}
    for name, sub in _subparsers(build_parser()).items():
        table[name] = {o for a in sub._actions for o in a.option_strings}
        for action, leaf in _subparsers(sub).items():
            table[f"{name} {action}"] = {o for a in leaf._actions for o in a.option_strings}
    return table


def invocations(prompt: str) -> list[tuple[str, list[str]]]:
    """(command, flags) for each faber-db command or slash command a prompt names; the
    flags are those up to the next sentence, clause or the next invocation."""
    found = []
    matches = list(INVOCATION.finditer(prompt))
    for i, match in enumerate(matches):
        word, action = match.group(1), match.group(2)
        command = f"{word} {action}" if f"{word} {action}" in cli() else word
        stop = matches[i + 1].start() if i + 1 < len(matches) else len(prompt)
        clause = re.split(r"[:;)]|\. |, (?!-)| or ", prompt[match.end() : stop])[0]
        found.append((command, FLAG.findall(clause)))
    return found


def test_workflow_is_valid_against_the_format():
    assert validation_errors(workflow(), "faber-workflow") == []


def test_the_schema_refuses_what_the_format_refuses():
    broken = workflow()
    broken["hooks"] = {}
    del broken["phases"]["frame"]
    broken["phases"]["build"]["post_steps"][0]["id"] = "Generate"
    broken["autonomy"]["level"] = "reckless"
    problems = "\n".join(validation_errors(broken, "faber-workflow"))
    for expected in ("hooks", "frame", "Generate", "reckless"):
        assert expected in problems


def test_step_ids_are_unique_and_namespaced():
    ids = [step["id"] for step in steps(workflow())]
    assert len(ids) == len(set(ids))
    assert all(i.startswith("faber-db-") for i in ids)  # unique once merged with the parent


def test_extends_the_default_and_puts_each_step_where_it_belongs():
    data = workflow()
    assert data["extends"] == "default"
    assert data["autonomy"]["level"] in ("assist", "guarded")
    assert data["phases"]["release"]["require_approval"] is True

    def commands(phase, where):
        return [[c for c, _ in invocations(s["prompt"])] for s in steps(data, phase, where)]

    build = commands("build", "post_steps")
    assert "generate-migration" in build[0] and "check" in build[1]
    evaluate = steps(data, "evaluate", "steps")
    assert "faber-db migrate staging" in evaluate[0]["prompt"]
    assert "/faber-db:health staging" in evaluate[1]["prompt"]
    assert "faber-db migrate production --rehearse" in evaluate[2]["prompt"]
    backup, deploy = steps(data, "release", "pre_steps")
    assert "faber-db backup production" in backup["prompt"]
    assert "faber-db migrate production --json" in deploy["prompt"]
    assert "Only a person approves" in deploy["prompt"]
    health, rollback = steps(data, "release", "post_steps")
    assert "/faber-db:health production" in health["prompt"]
    assert "faber-db rollback production" in rollback["prompt"]


@pytest.mark.parametrize("step", steps(workflow()), ids=lambda s: s["id"])
def test_every_command_flag_and_skill_named_exists(step):
    named = invocations(step["prompt"])
    assert named, "a step's prompt names the faber-db command it runs"
    for command, flags in named:
        word = command.split()[0]
        assert command in cli() or word in PENDING_COMMANDS, command
        slash = f"/faber-db:{word}" in step["prompt"]
        if slash and word not in PENDING_COMMANDS:
            assert (REPO_ROOT / "commands" / f"{word}.md").is_file(), word
        for flag in flags:
            known = cli().get(command, set())
            assert flag in known or (word, flag) in PENDING_FLAGS or word in PENDING_COMMANDS, (
                f"{command} {flag}"
            )
    for skill in SKILL.findall(step["prompt"]):
        assert (REPO_ROOT / "skills" / skill / "SKILL.md").is_file() or skill in PENDING_SKILLS


def test_pending_names_are_still_pending():
    """When a pending command, flag or skill lands, it leaves the pending lists."""
    for word in PENDING_COMMANDS:
        assert word not in cli(), f"{word} exists now: remove it from PENDING_COMMANDS"
    for command, flag in PENDING_FLAGS:
        assert flag not in cli()[command], f"{command} {flag} exists now: remove it"
    for skill in PENDING_SKILLS:
        assert not (REPO_ROOT / "skills" / skill).is_dir(), f"skill {skill} exists now"
