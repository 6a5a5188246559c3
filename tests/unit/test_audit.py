"""The audit trail: one line per mutating operation, hash-chained, concurrent-safe."""

from __future__ import annotations

import json
import multiprocessing

from faber_db.audit import record, verify_chain
from faber_db.result import Result


def _write(args):
    from pathlib import Path

    path, index = args
    record(
        Path(path),
        Result(operation="backup", environment="dev", result={"backup_id": f"b{index}"}),
        ["backup", "dev"],
        0.1,
    )


def test_concurrent_appends_keep_a_valid_chain(tmp_path):
    path = tmp_path / "audit.jsonl"
    with multiprocessing.get_context("fork").Pool(8) as pool:
        pool.map(_write, [(str(path), i) for i in range(40)])
    report = verify_chain(path)
    assert report.ok and report.lines == 40
    assert sorted(e["backup_id"] for e in report.entries) == sorted(f"b{i}" for i in range(40))
    assert [e["seq"] for e in report.entries] == list(range(1, 41))


def _trail(tmp_path, lines=5):
    path = tmp_path / "audit.jsonl"
    for i in range(lines):
        record(
            path,
            Result(operation="migrate", environment="production", result={"plan_id": f"plan-{i}"}),
            ["migrate"],
            1,
        )
    return path


def test_an_edited_line_is_named(tmp_path):
    path = _trail(tmp_path)
    lines = path.read_text().splitlines()
    entry = json.loads(lines[2])
    entry["result"] = "error"
    lines[2] = json.dumps(entry)
    path.write_text("\n".join(lines) + "\n")
    report = verify_chain(path)
    assert not report.ok and report.first_broken_line == 3


def test_a_deleted_line_is_detected(tmp_path):
    path = _trail(tmp_path)
    lines = path.read_text().splitlines()
    del lines[1]
    path.write_text("\n".join(lines) + "\n")
    assert verify_chain(path).first_broken_line == 2


def test_lines_removed_from_the_end_are_detected(tmp_path):
    path = _trail(tmp_path)
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-2]) + "\n")
    report = verify_chain(path)
    assert not report.ok and report.first_broken_line == 4


def test_a_rehashed_edit_still_breaks_the_next_link(tmp_path):
    from faber_db.audit import entry_hash

    path = _trail(tmp_path)
    lines = path.read_text().splitlines()
    entry = json.loads(lines[1])
    entry["plan_id"] = "plan-forged"
    entry["hash"] = entry_hash(entry)
    lines[1] = json.dumps(entry)
    path.write_text("\n".join(lines) + "\n")
    assert verify_chain(path).first_broken_line == 3


def test_cli_audits_mutating_commands_without_secrets(tmp_path):
    from support import Project, basic_config

    project = Project(
        tmp_path / "p",
        {"FABER_TEST_DEV_URL": "postgresql://u:topsecret@127.0.0.1:1/x", "CLAUDECODE": "1"},
    )
    project.root.mkdir()
    project.write_config(basic_config(dev="FABER_TEST_DEV_URL"))
    code, _ = project.run_json("backup", "dev")
    assert code == 7
    code, out = project.run_json("audit")
    assert code == 0 and out["result"]["count"] == 1
    entry = out["result"]["entries"][0]
    assert (
        entry["operation"] == "backup"
        and entry["result"] == "error"
        and entry["agent_claimed"] == "claude-code"
        and "agent" not in entry
    )
    assert "topsecret" not in (project.config_dir / "audit.jsonl").read_text()
    code, out = project.run_json("audit", "--verify")
    assert code == 0 and out["result"]["ok"]
