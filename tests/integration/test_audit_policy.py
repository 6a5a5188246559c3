"""Policy and audit that a config swap must not turn off: the audit trail stays a
real file in the project, every line records the config in force, a weakened
policy or a foreign config is an audited event that still needs a person's
approval, a trail that cannot be written stops gated commands, and the catalogue
anchors catch a truncated or recomputed trail."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3

import pytest
from migration_support import write_migrations
from support import Project, basic_config
from test_backup_failures import small_filesystem

from faber_db.audit import entry_hash, record, verify_chain
from faber_db.result import Result

KEEP = {"20240101000000_keep": "CREATE TABLE keep (id INTEGER PRIMARY KEY);\n"}
DROP = {"20240201000000_drop_keep": "DROP TABLE keep;\n"}
ADD = {"20240301000000_other": "CREATE TABLE other (id INTEGER PRIMARY KEY);\n"}


def prod_project(tmp_path) -> Project:
    """A project whose protected `production` (and unprotected `dev`) are SQLite files,
    with `keep` migrated onto production through an approved plan."""
    project = Project(
        tmp_path / "project",
        {
            "FABER_TEST_PROD_URL": f"sqlite:///{tmp_path / 'prod.db'}",
            "FABER_TEST_DEV_URL": f"sqlite:///{tmp_path / 'dev.db'}",
        },
    )
    project.root.mkdir()
    for name in ("prod.db", "dev.db"):
        sqlite3.connect(tmp_path / name).close()
    project.write_config(basic_config(production="FABER_TEST_PROD_URL", dev="FABER_TEST_DEV_URL"))
    write_migrations(project, KEEP, "sqlite")
    approve(project, "production")
    assert tables(tmp_path / "prod.db") == ["keep"]
    return project


def approve(project: Project, env: str, *extra: str, env_vars: dict | None = None) -> dict:
    """Run migrate, then approve the plan it asks for; return the approved run's output."""
    code, out = project.run_json("migrate", env, *extra, env=env_vars)
    assert code == 14, out
    code, out = project.run_json(
        "migrate", env, "--approve", out["result"]["plan_id"], *extra, env=env_vars
    )
    assert code == 0, out
    return out


def tables(path) -> list[str]:
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\'"
        )
        return sorted(name for (name,) in rows)


def config_of(project: Project) -> dict:
    return json.loads((project.config_dir / "config.json").read_text())


def trail(project: Project) -> list[dict]:
    path = project.config_dir / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


# -- the audit trail must be a regular file inside the project ------------------------
@pytest.mark.parametrize("where", ["/dev/null", "outside", "symlink", "fifo", "directory"])
def test_an_audit_path_that_switches_the_trail_off_is_refused(tmp_path, where):
    project = Project(tmp_path / "project", {"FABER_TEST_DEV_URL": "sqlite:///dev.db"})
    project.root.mkdir()
    inside = project.root / "audit.jsonl"
    path = {"/dev/null": "/dev/null", "outside": str(tmp_path / "elsewhere.jsonl")}.get(where)
    if where == "symlink":
        inside.symlink_to("/dev/null")
    elif where == "fifo":
        os.mkfifo(inside)
    elif where == "directory":
        inside.mkdir()
    config = basic_config(dev="FABER_TEST_DEV_URL")
    config["audit"] = {"path": path or "audit.jsonl"}
    project.write_config(config)
    code, out = project.run_json("backup", "dev")
    assert code == 3, out
    assert out["error"]["code"] == "config_invalid" and "audit.path" in out["error"]["message"]
    assert not (project.root / "dev.db").exists()


def test_the_plugin_data_folder_may_hold_the_trail(tmp_path):
    data = tmp_path / "plugin-data"
    data.mkdir()
    project = Project(
        tmp_path / "project",
        {"FABER_TEST_DEV_URL": "sqlite:///dev.db", "CLAUDE_PLUGIN_DATA": str(data)},
    )
    project.root.mkdir()
    config = basic_config(dev="FABER_TEST_DEV_URL")
    config["audit"] = {"path": str(data / "audit.jsonl")}
    project.write_config(config)
    code, out = project.run_json("db-create", "dev")
    assert code == 0, out
    assert verify_chain(data / "audit.jsonl").lines == 1


# -- every line records the config in force -------------------------------------------
def test_each_line_records_the_config_hash_and_path(tmp_path):
    project = prod_project(tmp_path)
    config_file = project.config_dir / "config.json"
    digest = hashlib.sha256(config_file.read_bytes()).hexdigest()
    lines = trail(project)
    assert lines and all(
        line["config"] == {"path": str(config_file.resolve()), "sha256": digest, "own": True}
        for line in lines
    )
    assert [line["result"] for line in lines] == ["approval_required", "approved", "success"]
    assert all(line["policy"]["protected"] == ["production"] for line in lines)


# -- a config other than the project's own --------------------------------------------
def test_a_foreign_config_cannot_unprotect_production(tmp_path):
    project = prod_project(tmp_path)
    write_migrations(project, DROP, "sqlite")
    evil = config_of(project)
    evil["safety"] = {
        "protected_environments": [],
        "backup_enforcement": {"production": "optional"},
    }
    evil["migrations"] = {"directory": str(project.root / "prisma" / "migrations")}
    (tmp_path / "evil.json").write_text(json.dumps(evil))
    swap = {"FABER_DB_CONFIG": str(tmp_path / "evil.json")}
    code, out = project.run_json("migrate", "production", "--yes", env=swap)
    assert code == 14, out
    assert tables(tmp_path / "prod.db") == ["keep"]
    assert any("not the project's own" in w for w in out["warnings"])
    assert any("production" in w and "no longer protects" in w for w in out["warnings"])
    # The refusal is audited in the project's own trail, the foreign config named in
    # an event of its own.
    code, shown = project.run_json("audit", env=swap)
    assert code == 0, shown
    assert shown["result"]["path"] == str(project.config_dir / "audit.jsonl")
    entries = shown["result"]["entries"]
    kinds = [(e["operation"], e["result"], e["config"]["own"]) for e in entries[-2:]]
    assert kinds == [("config-change", "recorded", False), ("migrate", "approval_required", False)]
    changes = "\n".join(entries[-2]["changes"])
    assert "other than the project's own is in force: " + str(tmp_path / "evil.json") in changes
    assert "production is no longer protected" in changes
    assert (
        entries[-1]["config"]["sha256"]
        == hashlib.sha256((tmp_path / "evil.json").read_bytes()).hexdigest()
    )
    text = project.run("audit", env=swap).stdout
    assert "config (not the project's own): " + str((tmp_path / "evil.json").resolve()) in text
    # Approved by a person, it proceeds, and the project's own config still protects.
    code, out = project.run_json("migrate", "production", env=swap)
    code, out = project.run_json(
        "migrate", "production", "--approve", out["result"]["plan_id"], env=swap
    )
    assert code == 0, out
    assert tables(tmp_path / "prod.db") == []
    write_migrations(project, ADD, "sqlite")
    assert project.run_json("migrate", "production", "--yes")[0] == 14
    assert verify_chain(project.config_dir / "audit.jsonl").ok


# -- the project's config edited in place -----------------------------------------------
def test_an_edited_policy_is_audited_and_needs_one_approval(tmp_path):
    project = prod_project(tmp_path)
    write_migrations(project, DROP, "sqlite")
    weakened = config_of(project)
    weakened["safety"] = {"protected_environments": []}
    project.write_config(weakened)
    code, out = project.run_json("migrate", "production", "--yes")
    assert code == 14, out
    assert tables(tmp_path / "prod.db") == ["keep"]
    assert "production is no longer protected" in json.dumps(out["result"]["plan"]["display"])
    lines = trail(project)
    assert lines[-2]["operation"] == "config-change"
    assert any("production is no longer protected" in c for c in lines[-2]["changes"])
    assert any("backup_enforcement" in c for c in lines[-2]["changes"])
    assert "production is no longer protected" in project.run("audit").stdout
    # A non-gated command under the new policy does not make the change stick...
    assert project.run_json("backup", "production")[0] == 0
    assert project.run_json("migrate", "production", "--yes")[0] == 14
    # ...a person's approval of a plan under it does, once.
    code, out = project.run_json("migrate", "production")
    code, out = project.run_json("migrate", "production", "--approve", out["result"]["plan_id"])
    assert code == 0, out
    assert tables(tmp_path / "prod.db") == []
    write_migrations(project, ADD, "sqlite")
    code, out = project.run_json("migrate", "production", "--yes")
    assert code == 0, out
    assert verify_chain(project.config_dir / "audit.jsonl").ok


# -- fail closed --------------------------------------------------------------------------
def test_a_damaged_trail_stops_a_protected_deploy_and_warns_elsewhere(tmp_path):
    project = prod_project(tmp_path)
    write_migrations(project, DROP, "sqlite")
    code, out = project.run_json("migrate", "production")
    assert code == 14, out
    with open(project.config_dir / "audit.jsonl", "a") as handle:
        handle.write("{not json\n")
    code, out = project.run_json("migrate", "production", "--approve", out["result"]["plan_id"])
    assert code == 1, out
    assert out["error"]["code"] == "audit_unavailable"
    assert tables(tmp_path / "prod.db") == ["keep"]
    assert [p.name for p in (project.config_dir / "backups").rglob("*.db*")] == []
    code, out = project.run_json("migrate", "dev")
    assert code == 0, out
    assert any("could not write the audit trail" in w for w in out["warnings"])
    assert tables(tmp_path / "dev.db") == []


def test_a_full_disk_stops_a_protected_deploy_and_leaves_a_verifiable_trail(tmp_path):
    project = prod_project(tmp_path)
    write_migrations(project, DROP, "sqlite")
    with small_filesystem(project.root / "audit", "64k") as folder:
        config = config_of(project)
        config["audit"] = {"path": "audit/audit.jsonl"}
        project.write_config(config)
        code, out = project.run_json("migrate", "production")
        assert code == 14, out
        path = folder / "audit.jsonl"
        leave_little_room_in_the_last_page(path)
        fill(folder / "filler")
        before = path.read_bytes()
        code, out = project.run_json("migrate", "production", "--approve", out["result"]["plan_id"])
        assert code == 1, out
        assert out["error"]["code"] == "audit_unavailable"
        assert tables(tmp_path / "prod.db") == ["keep"]
        assert path.read_bytes() == before  # the half-written line was cut off again
        code, out = project.run_json("migrate", "dev")
        assert code == 0 and any("could not write the audit trail" in w for w in out["warnings"])
        (folder / "filler").unlink()
        code, out = project.run_json("audit", "--verify")
        assert code == 0, out
        assert out["result"]["lines"] == len(trail_lines(path))


def leave_little_room_in_the_last_page(path) -> None:
    """Append a line sized so the file ends 50-300 bytes short of a 4 KiB page: a
    line of the next command then only fits in part."""
    record(path, Result(operation="backups-delete", result={"deleted": [""]}), ["x"], 0.1)
    base = len(path.read_text().splitlines()[-1]) + 1
    size = path.stat().st_size
    want = (4096 - 150 - size) % 4096
    want += 4096 if want < base else 0
    padding = ["x" * (want - base)]
    record(path, Result(operation="backups-delete", result={"deleted": padding}), ["x"], 0.1)
    assert 50 < 4096 - path.stat().st_size % 4096 < 300


def fill(filler) -> None:
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        with pytest.raises(OSError):
            while True:
                os.write(fd, b"x" * 512)
    finally:
        os.close(fd)


def trail_lines(path) -> list[str]:
    return path.read_text().splitlines()


def _line(path, n: int) -> None:
    for _ in range(n):
        record(path, Result(operation="backup", environment="dev", result={}), ["backup"], 0.1)


def test_a_head_file_behind_the_trail_is_not_tampering(tmp_path):
    path = tmp_path / "audit.jsonl"
    _line(path, 3)
    head = (tmp_path / "audit.jsonl.head").read_bytes()
    _line(path, 1)  # as if the head's own write had failed on a full disk
    (tmp_path / "audit.jsonl.head").write_bytes(head)
    assert verify_chain(path).ok
    (tmp_path / "audit.jsonl.head").write_text('{"seq": 2, "hash": "sha256:' + "1" * 64 + '"}')
    report = verify_chain(path)
    assert not report.ok and "rewritten" in report.problem


# -- the agent is a claim ---------------------------------------------------------------------
def test_the_agent_is_shown_as_claimed_in_old_and_new_lines(tmp_path):
    project = Project(
        tmp_path / "project", {"FABER_TEST_DEV_URL": "sqlite:///dev.db", "FABER_DB_AGENT": "bot"}
    )
    project.root.mkdir()
    project.write_config(basic_config(dev="FABER_TEST_DEV_URL"))
    old = {"seq": 1, "time": "2024-01-01T00:00:00Z", "user": "ann", "agent": "claude-code"}
    old.update(
        operation="backup", environment="dev", result="success", prev_hash="sha256:" + "0" * 64
    )
    old["hash"] = entry_hash(old)
    (project.config_dir / "audit.jsonl").write_text(json.dumps(old) + "\n")
    assert project.run_json("db-create", "dev")[0] == 0
    entries = trail(project)
    assert entries[1]["agent_claimed"] == "bot" and "agent" not in entries[1]
    text = project.run("audit").stdout
    assert "ann via claude-code (claimed)" in text and "via bot (claimed)" in text
    assert project.run_json("audit", "--verify")[0] == 0


# -- anchors in the catalogue -----------------------------------------------------------------
def _backed_up(tmp_path) -> Project:
    project = Project(tmp_path / "project", {"FABER_TEST_DEV_URL": "sqlite:///dev.db"})
    project.root.mkdir()
    project.write_config(basic_config(dev="FABER_TEST_DEV_URL"))
    assert project.run_json("db-create", "dev")[0] == 0
    for _ in range(3):
        assert project.run_json("backup", "dev")[0] == 0
    entries = project.catalogue()["backups"]
    assert [e["audit_head"]["seq"] for e in entries] == [1, 2, 3]
    return project


def test_a_truncated_trail_with_its_head_rewritten_is_caught_by_the_catalogue(tmp_path):
    project = _backed_up(tmp_path)
    path = project.config_dir / "audit.jsonl"
    lines = path.read_text().splitlines()[:2]
    path.write_text("\n".join(lines) + "\n")
    last = json.loads(lines[-1])
    (project.config_dir / "audit.jsonl.head").write_text(
        json.dumps({"seq": last["seq"], "hash": last["hash"]})
    )
    code, out = project.run_json("audit", "--verify")
    assert code == 1, out
    assert out["error"]["code"] == "audit_chain_broken"
    assert "truncated" in out["error"]["message"] and out["result"]["first_broken_line"] == 3


def test_a_fully_recomputed_trail_is_caught_by_the_catalogue(tmp_path):
    project = _backed_up(tmp_path)
    path = project.config_dir / "audit.jsonl"
    rewritten, prev = [], "sha256:" + "0" * 64
    for raw in path.read_text().splitlines():
        entry = json.loads(raw)
        entry["user"] = "somebody-else"
        entry["prev_hash"] = prev
        entry["hash"] = prev = entry_hash(entry)
        rewritten.append(json.dumps(entry))
    path.write_text("\n".join(rewritten) + "\n")
    (project.config_dir / "audit.jsonl.head").write_text(
        json.dumps({"seq": len(rewritten), "hash": prev})
    )
    assert verify_chain(path).ok  # the file and its head agree...
    code, out = project.run_json("audit", "--verify")
    assert code == 1, out  # ...but not with what the catalogue recorded
    assert "rewritten" in out["error"]["message"] and out["result"]["first_broken_line"] == 1
    code, out = project.run_json("audit")
    assert out["result"]["chain_ok"] is False


# -- the reproductions of the report ------------------------------------------------------------
def test_the_reported_yaml_swap_to_dev_null_is_refused(tmp_path):
    project = prod_project(tmp_path)
    write_migrations(project, DROP, "sqlite")
    evil = tmp_path / "evil.yaml"
    evil.write_text(
        "database: {provider: sqlite}\n"
        "environments: {production: {connection_string_env: FABER_TEST_PROD_URL}}\n"
        f"migrations: {{directory: {project.root / 'prisma' / 'migrations'}}}\n"
        "safety: {protected_environments: []}\n"
        "audit: {path: /dev/null}\n"
    )
    code, out = project.run_json("migrate", "production", env={"FABER_DB_CONFIG": str(evil)})
    assert code == 3, out
    assert out["error"]["code"] == "config_invalid" and "/dev/null" in out["error"]["message"]
    assert tables(tmp_path / "prod.db") == ["keep"]


def test_moving_the_trail_to_a_fresh_file_does_not_forget_the_policy(tmp_path):
    project = prod_project(tmp_path)
    write_migrations(project, DROP, "sqlite")
    config = config_of(project)
    config["safety"] = {"protected_environments": []}
    config["audit"] = {"path": "fresh.jsonl"}
    project.write_config(config)
    code, out = project.run_json("migrate", "production", "--yes")
    assert code == 14, out
    assert tables(tmp_path / "prod.db") == ["keep"]
    fresh = [json.loads(line) for line in (project.root / "fresh.jsonl").read_text().splitlines()]
    assert fresh[0]["operation"] == "config-change"
    assert fresh[0]["changes"][0].startswith("audit trail moved: ")
    assert "production" in fresh[-1]["protected_baseline"]
    assert project.run_json("migrate", "production", "--yes")[0] == 14


def test_a_damaged_trail_stops_an_approved_rollback_before_its_safety_backup(tmp_path):
    project = prod_project(tmp_path)
    with sqlite3.connect(tmp_path / "prod.db") as db:
        db.execute("INSERT INTO keep (id) VALUES (1)")
    assert project.run_json("backup", "production")[0] == 0
    with sqlite3.connect(tmp_path / "prod.db") as db:
        db.execute("INSERT INTO keep (id) VALUES (2)")
    code, out = project.run_json("rollback", "production")
    assert code == 14, out
    with open(project.config_dir / "audit.jsonl", "a") as handle:
        handle.write("{not json\n")
    backups = len(project.catalogue()["backups"])
    code, out = project.run_json("rollback", "production", "--approve", out["result"]["plan_id"])
    assert code == 1 and out["error"]["code"] == "audit_unavailable", out
    with sqlite3.connect(tmp_path / "prod.db") as db:
        assert db.execute("SELECT id FROM keep ORDER BY id").fetchall() == [(1,), (2,)]
    assert len(project.catalogue()["backups"]) == backups
