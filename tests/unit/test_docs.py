"""The documentation matches the CLI: every flag the slash commands, skills and
docs/COMMANDS.md mention exists in `faber-db <command> --help`, every command
is documented, every JSON example is a valid result, and every config key, exit
code and error code is described."""

from __future__ import annotations

import argparse
import json
import re
from functools import cache
from pathlib import Path

import pytest
from support import REPO_ROOT

from faber_db.cli import build_parser
from faber_db.exit_codes import EXIT_STATUS_BY_ERROR_CODE, ExitStatus
from faber_db.resources import load_schema, validation_errors

REPO = REPO_ROOT
COMMAND_FILES = sorted((REPO / "commands").glob("*.md"))
SKILL_FILES = sorted((REPO / "skills").glob("*/SKILL.md"))
AGENT_FILES = sorted((REPO / "agents").glob("*.md"))
COMMANDS_DOC = REPO / "docs" / "COMMANDS.md"
CONFIG_DOC = REPO / "docs" / "CONFIGURATION.md"

FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")
INVOCATION = re.compile(r"(?:faber-db\s+|/faber-db:)([a-z][a-z-]*)(?:\s+([a-z][a-z-]*))?")
JSON_BLOCK = re.compile(r"```json\n(.*?)```", re.S)
ANY = "*"  # flags of any command
# bin/faber-db's own flag, documented in the bin/faber-db section of COMMANDS.md.
RUNTIME_FLAGS = {"--ensure-runtime"}


# -- the CLI as argparse sees it --------------------------------------------------------
def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _flags(parser: argparse.ArgumentParser) -> set[str]:
    return {o for a in parser._actions for o in a.option_strings if o.startswith("--")}


@cache
def cli_flags() -> dict[str, frozenset[str]]:
    """'init' -> its flags, 'backups list' -> its flags, 'backups' -> all its actions'
    flags, '' -> the top-level flags, '*' -> every flag of every command."""
    parser = build_parser()
    table: dict[str, set[str]] = {"": _flags(parser)}
    for name, sub in _subparsers(parser).items():
        table[name] = _flags(sub)
        for action, subsub in _subparsers(sub).items():
            table[f"{name} {action}"] = _flags(subsub)
            table[name] |= _flags(subsub)
    table[ANY] = set().union(*table.values())
    return {key: frozenset(flags) for key, flags in table.items()}


@cache
def cli_commands() -> dict[str, list[str]]:
    """Top-level commands and their actions (empty list when they have none)."""
    return {name: sorted(_subparsers(sub)) for name, sub in _subparsers(build_parser()).items()}


def leaf_commands() -> list[str]:
    """'init', ..., 'backups list', 'backups show', ...: what a user can run."""
    leaves = []
    for name, actions in cli_commands().items():
        leaves += [f"{name} {a}" for a in actions] if actions else [name]
    return sorted(leaves)


def command_key(word: str, next_word: str | None) -> str | None:
    """The cli_flags key for `faber-db WORD NEXT_WORD ...`, or None if not a command."""
    actions = cli_commands().get(word)
    if actions is None:
        return None
    return f"{word} {next_word}" if next_word in actions else word


# -- reading Markdown -------------------------------------------------------------------
def mentioned_flags(text: str, default: str) -> list[tuple[str, str, str]]:
    """(command key, flag, line) for every --flag in text.

    A flag inside an explicit `faber-db <command> ...` or `/faber-db:<command> ...`
    (up to the end of its code span or line) belongs to that command; any other
    flag to `default`."""
    found = []
    for line in text.splitlines():
        spans = []
        for match in INVOCATION.finditer(line):
            key = command_key(match.group(1), match.group(2))
            if key is not None:
                end = line.find("`", match.end())
                spans.append((match.start(), len(line) if end < 0 else end, key))
        for flag in FLAG.finditer(line):
            key = next((k for start, end, k in spans if start <= flag.start() < end), default)
            found.append((key, flag.group(1), line.strip()))
    return found


def sections(text: str) -> dict[str, str]:
    """Level-2 sections of a Markdown file by title (the text before the first: '')."""
    parts = re.split(r"^## (.+)$", text, flags=re.M)
    out = {"": parts[0]}
    for title, body in zip(parts[1::2], parts[2::2], strict=True):
        out[title.strip()] = body
    return out


def section_command(title: str) -> str | None:
    """'faber-db backups list' -> 'backups list'; other titles -> None."""
    match = re.fullmatch(r"faber-db ([a-z-]+(?: [a-z-]+)?)", title)
    return match.group(1) if match else None


def unknown_flags(text: str, default: str, extra: set[str] = frozenset()) -> list[str]:
    """Flags in text that the command they belong to does not have."""
    flags = cli_flags()
    return [
        f"{key or 'faber-db'}: {flag} (in: {line})"
        for key, flag, line in mentioned_flags(text, default)
        if flag not in flags[key] and flag not in extra
    ]


def json_examples(path: Path) -> list[object]:
    """Every ```json block in a file, parsed."""
    return [json.loads(block) for block in JSON_BLOCK.findall(path.read_text(encoding="utf-8"))]


# -- (a) flags --------------------------------------------------------------------------
@pytest.mark.parametrize("path", COMMAND_FILES, ids=lambda p: p.name)
def test_command_file_flags_exist(path):
    command = path.stem
    assert command in cli_flags(), f"{path.name}: faber-db has no command '{command}'"
    assert unknown_flags(path.read_text(encoding="utf-8"), command) == []


@pytest.mark.parametrize("path", SKILL_FILES + AGENT_FILES, ids=lambda p: p.parent.name)
def test_skill_and_agent_flags_exist(path):
    assert unknown_flags(path.read_text(encoding="utf-8"), ANY) == []


def test_commands_doc_flags_exist():
    problems = []
    for title, body in sections(COMMANDS_DOC.read_text(encoding="utf-8")).items():
        command = section_command(title)
        if command is None:
            problems += unknown_flags(body, ANY, RUNTIME_FLAGS)
        else:
            assert command in cli_flags(), f"COMMANDS.md documents unknown '{title}'"
            problems += unknown_flags(body, command)
    assert problems == []


def test_commands_doc_lists_every_flag_of_each_command():
    documented = sections(COMMANDS_DOC.read_text(encoding="utf-8"))
    common = _flags(build_parser())
    for command in leaf_commands():
        body = documented[f"faber-db {command}"]
        missing = cli_flags()[command] - common - {"--help"} - set(FLAG.findall(body))
        assert not missing, f"faber-db {command}: flags not documented: {sorted(missing)}"


# -- (b) every command documented -------------------------------------------------------
@pytest.mark.parametrize("command", sorted(cli_commands()))
def test_every_command_has_a_command_file(command):
    path = REPO / "commands" / f"{command}.md"
    assert path.is_file(), f"faber-db {command} has no commands/{command}.md"
    text = path.read_text(encoding="utf-8")
    for action in cli_commands()[command]:
        assert f"backups {action}" in text or f"{command} {action}" in text, (
            f"commands/{command}.md does not cover '{command} {action}'"
        )


@pytest.mark.parametrize("command", leaf_commands())
def test_every_command_has_a_section_in_commands_doc(command):
    assert f"faber-db {command}" in sections(COMMANDS_DOC.read_text(encoding="utf-8"))


def test_no_command_file_for_a_command_that_does_not_exist():
    assert {p.stem for p in COMMAND_FILES} <= set(cli_commands())


# -- (c) JSON examples ------------------------------------------------------------------
@pytest.mark.parametrize(
    "path", COMMAND_FILES + SKILL_FILES, ids=lambda p: p.parent.name + "/" + p.name
)
def test_json_examples_are_valid_results(path):
    results = [e for e in json_examples(path) if isinstance(e, dict) and "status" in e]
    assert results, f"{path.relative_to(REPO)} has no JSON result example"
    for example in results:
        assert validation_errors(example, "result") == [], example


@pytest.mark.parametrize("path", COMMAND_FILES, ids=lambda p: p.name)
def test_command_examples_show_their_own_command(path):
    operations = {e["operation"] for e in json_examples(path) if isinstance(e, dict)}
    own = {path.stem, f"{path.stem}-verify"} | {
        f"{path.stem}-{action}" for action in cli_commands()[path.stem]
    }
    assert operations and operations <= own, (path.name, operations)


# -- (d) every config key ---------------------------------------------------------------
def _resolve(node: dict, root: dict, reached: set[str]) -> dict:
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        reached.add(name)
        return root["$defs"][name]
    return node


def config_paths(node: dict, root: dict, reached: set[str], prefix: str = "") -> list[str]:
    """Dotted paths of every key, '<*>' standing for a name the user chooses."""
    node = _resolve(node, root, reached)
    paths = []
    for key, child in node.get("properties", {}).items():
        paths.append(prefix + key)
        paths += config_paths(child, root, reached, prefix + key + ".")
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        paths += config_paths(extra, root, reached, prefix + "<*>.")
    return paths


def test_every_config_key_is_documented():
    schema = load_schema("config")
    doc = CONFIG_DOC.read_text(encoding="utf-8")
    reached: set[str] = set()
    paths = config_paths(schema, schema, reached)
    assert len(paths) > 40
    missing = [
        path
        for path in paths
        if not re.search("`" + re.escape(path).replace(r"<\*>", "<[a-z_-]+>") + "`", doc)
    ]
    assert missing == []
    for name, definition in schema["$defs"].items():
        if name not in reached:  # not reachable through a $ref: at least name its keys
            missing += [k for k in definition.get("properties", {}) if f".{k}`" not in doc]
    assert missing == []


def test_config_doc_examples_are_valid_configs():
    examples = json_examples(CONFIG_DOC)
    assert examples
    for example in examples:
        assert validation_errors(example, "config") == []


# -- (e) exit codes and error codes -----------------------------------------------------
@pytest.mark.parametrize("status", list(ExitStatus), ids=lambda s: s.name)
def test_every_exit_status_is_documented(status):
    doc = COMMANDS_DOC.read_text(encoding="utf-8")
    assert re.search(rf"^\| {status.value} \| `{status.name}` \| \S", doc, re.M), status


def test_error_code_table_matches_the_code():
    doc = COMMANDS_DOC.read_text(encoding="utf-8")
    table = {}
    for codes, exit_code in re.findall(r"^\| (`[a-z_]+`(?:, `[a-z_]+`)*) \| (\d+) \|$", doc, re.M):
        for code in re.findall(r"`([a-z_]+)`", codes):
            table[code] = int(exit_code)
    for code, status in EXIT_STATUS_BY_ERROR_CODE.items():
        assert table.get(code) == status.value, f"error code {code}: documented {table.get(code)}"
