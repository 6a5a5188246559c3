"""Hostile config files: each is refused quickly with a clear config error, never a
traceback, and never silently half-read (issue 10, sections 4 and 7)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from faber_db.config import MAX_CONFIG_BYTES, load_config
from faber_db.errors import ConfigInvalidError
from faber_db.exit_codes import ExitStatus


def write(root, text: str | bytes, name: str):
    directory = root / ".fractary" / "plugins" / "faber-db"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def refused(root) -> str:
    with pytest.raises(ConfigInvalidError) as raised:
        load_config(start=root)
    return raised.value.message


def alias_bomb(levels: int) -> str:
    """A "billion laughs" list: each level repeats the previous one 9 times."""
    lines = ['  l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels + 1):
        lines.append(f"  l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_under_an_invalid_key_is_refused_before_anything_expands_it(tmp_path):
    # 9**5 = 59,049 values from 6 short lines; an integer where the schema wants a list
    # makes the validator describe the whole expanded value.
    write(
        tmp_path,
        "environments: {}\nsafety:\n  protected_environments: 7\n" + alias_bomb(5),
        "config.yaml",
    )
    assert "aliases expand" in refused(tmp_path)


def test_recursive_alias_is_refused(tmp_path):
    write(tmp_path, "environments: {}\nloop: &loop [1, *loop]\n", "config.yaml")
    assert "recursive alias" in refused(tmp_path)


def test_anchors_and_merge_keys_still_work(tmp_path):
    text = (
        "defaults: &defaults {default_url: 'sqlite:///dev.db', backup_before_migrate: false}\n"
        "environments:\n"
        "  dev: {<<: *defaults}\n"
        "  staging:\n    <<: *defaults\n    backup_before_migrate: true\n"
    )
    write(tmp_path, text, "config.yaml")
    environments = load_config(start=tmp_path).environments
    assert environments["dev"]["backup_before_migrate"] is False
    assert environments["staging"]["backup_before_migrate"] is True


def test_duplicate_yaml_section_is_an_error_naming_the_key(tmp_path):
    text = (
        "environments: {}\n"
        "safety:\n  protected_environments: [production]\n"
        "safety:\n  protected_environments: []\n"
    )
    write(tmp_path, text, "config.yaml")
    message = refused(tmp_path)
    assert "duplicate key 'safety'" in message and "line 4" in message


def test_duplicate_nested_yaml_key_is_an_error(tmp_path):
    text = "environments:\n  dev: {default_url: 'sqlite:///a.db'}\n  dev: {default_url: 'sqlite:///b.db'}\n"
    write(tmp_path, text, "config.yaml")
    assert "duplicate key 'dev'" in refused(tmp_path)


def test_duplicate_json_key_is_an_error_naming_the_key(tmp_path):
    text = (
        '{"environments": {}, "safety": {"protected_environments": ["production"]}, "safety": {}}'
    )
    write(tmp_path, text, "config.json")
    assert "duplicate key 'safety'" in refused(tmp_path)


@pytest.mark.parametrize("name", ["config.json", "config.yaml"])
def test_config_over_one_mib_is_refused_without_reading_it_all(tmp_path, name):
    filler = "x" * MAX_CONFIG_BYTES
    text = json.dumps({"environments": {}, "note": filler})
    write(tmp_path, text, name)
    assert "larger than 1024 KiB" in refused(tmp_path)


def test_a_huge_config_is_refused_after_reading_only_the_limit(tmp_path, monkeypatch):
    path = write(tmp_path, b"", "config.json")
    os.truncate(path, 8 * 1024**3)  # sparse: 8 GiB that nobody could read into memory
    monkeypatch.setenv("FABER_DB_CONFIG", str(path))
    started = time.monotonic()
    with pytest.raises(ConfigInvalidError, match="larger than 1024 KiB"):
        load_config()
    assert time.monotonic() - started < 5


def test_config_just_under_the_limit_loads(tmp_path):
    text = json.dumps({"environments": {}, "note": ""})
    text = text.replace('""', '"' + "x" * (MAX_CONFIG_BYTES - len(text)) + '"')
    assert len(text) == MAX_CONFIG_BYTES
    write(tmp_path, text, "config.json")
    assert load_config(start=tmp_path).data["environments"] == {}


@pytest.mark.parametrize("name", ["config.json", "config.yaml"])
def test_non_utf8_config_is_a_clear_error(tmp_path, name):
    write(tmp_path, '{"environments": {}, "note": "caf\xe9"}'.encode("latin-1"), name)
    message = refused(tmp_path)
    assert "not UTF-8" in message and "byte 33" in message


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("config.json", "[" * 100_000),
        ("config.yaml", "[" * 100_000),
        ("config.json", '{"environments": {}, "n": ' + "9" * 5000 + "}"),
        ("config.yaml", "environments: {}\nn: " + "9" * 5000 + "\n"),
    ],
)
def test_deep_nesting_and_huge_numbers_are_config_errors(tmp_path, name, text):
    write(tmp_path, text, name)
    refused(tmp_path)


def test_cli_reports_a_duplicate_key_with_the_config_exit_code(tmp_path):
    write(tmp_path, "environments: {}\nenvironments: {}\n", "config.yaml")
    completed = subprocess.run(
        [sys.executable, "-m", "faber_db", "status", "dev", "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == ExitStatus.CONFIG_ERROR, completed.stderr
    output = json.loads(completed.stdout)
    assert output["error"]["code"] == "config_invalid"
    assert "duplicate key 'environments'" in output["error"]["message"]
    assert "Traceback" not in completed.stderr
