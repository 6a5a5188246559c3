"""The Claude Code guard against its corpus (tests/guard_corpus/cases.json): every
case through the guard's in-process entry (faber_db.guard.hook.handle, what
hooks/guard.py runs), the cases marked "sub" through the real hook process
exactly as Claude Code calls it (JSON on stdin, JSON or nothing on stdout,
exit 0); plus the end-to-end approval flow and the fail-safe."""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from guard_support import (
    CONFIG,
    CORPUS,
    ENVIRON,
    HOOK,
    MIGRATE_PLAN,
    PLAN_IDS,
    REPO_ROOT,
    build_corpus_project,
    fill,
    payload_for,
)
from migration_support import write_migrations
from support import Project

from faber_db import config as faber_config
from faber_db import plans
from faber_db.guard import hook, planview, project
from faber_db.result import Result


@pytest.fixture(scope="module")
def corpus_root(tmp_path_factory) -> Path:
    """The corpus project (tests/guard_support.py)."""
    return build_corpus_project(tmp_path_factory.mktemp("guarded") / "project")


def check(case: dict, output: dict | None) -> None:
    """The decision matches the case's expectation."""
    if case["expect"] == "none":
        assert output is None, f"{case['id']}: expected no decision, got {output}"
        return
    assert output is not None, f"{case['id']}: expected {case['expect']}, got no decision"
    specific = output["hookSpecificOutput"]
    assert specific["hookEventName"] == "PreToolUse"
    assert specific["permissionDecision"] == case["expect"], f"{case['id']}: {specific}"
    assert fill(case.get("contains", ""), Path("/")) in specific["permissionDecisionReason"], (
        specific
    )


def run_hook(payload: dict | str, environ: dict) -> tuple[int, str, str]:
    """The real entry point, as Claude Code runs it."""
    text = payload if isinstance(payload, str) else json.dumps(payload)
    completed = subprocess.run(
        [sys.executable, str(HOOK)],
        input=text,
        capture_output=True,
        text=True,
        env=environ,
        timeout=30,
    )
    return completed.returncode, completed.stdout, completed.stderr


def test_corpus_size():
    """At least 120 cases, 50 of them ordinary development work that gets no decision."""
    assert len(CORPUS) >= 120
    assert sum(1 for c in CORPUS if c["expect"] == "none") >= 50


@pytest.mark.parametrize("case", CORPUS, ids=[c["id"] for c in CORPUS])
def test_corpus_in_process(case, corpus_root):
    """Each case through the guard's own logic."""
    check(case, hook.handle(payload_for(case, corpus_root), {**ENVIRON, **case.get("environ", {})}))


SUBSET = [c for c in CORPUS if c.get("sub")]


@pytest.mark.parametrize("case", SUBSET, ids=[c["id"] for c in SUBSET])
def test_corpus_through_the_real_hook(case, corpus_root):
    """The representative subset through hooks/guard.py: stdin JSON, stdout JSON or nothing, exit 0."""
    rc, out, err = run_hook(payload_for(case, corpus_root), {**ENVIRON, **case.get("environ", {})})
    assert rc == 0, err
    assert err == ""
    check(case, json.loads(out) if out.strip() else None)


@pytest.mark.parametrize("mode", ["bypassPermissions", "dontAsk"])
def test_no_approval_in_a_session_that_does_not_ask(mode, corpus_root):
    """Where Claude Code would not ask the person, an approval is refused instead."""
    payload = payload_for(
        {"bash": fill("faber-db migrate production --approve {migrate_plan}", corpus_root)},
        corpus_root,
    )
    output = hook.handle({**payload, "permission_mode": mode}, ENVIRON)
    decision = output["hookSpecificOutput"]
    assert decision["permissionDecision"] == "deny"
    assert mode in decision["permissionDecisionReason"]


def test_denials_are_recorded_in_the_audit_trail(corpus_root):
    """A denied attempt leaves a guard-denied line naming the session."""
    trail = corpus_root / ".fractary/plugins/faber-db/audit.jsonl"
    case = next(c for c in CORPUS if c["id"] == "approve-never-shown")
    hook.handle(payload_for(case, corpus_root), ENVIRON)
    last = json.loads(trail.read_text().splitlines()[-1])
    assert last["operation"] == "guard-denied"
    assert last["environment"] == "production"
    assert "test-session" in last["message"]


def test_the_real_hook_records_a_denial_after_answering(tmp_path):
    """The hook answers deny at once; the guard-denied line follows from a detached child."""
    root = build_corpus_project(tmp_path / "project")
    trail = root / ".fractary/plugins/faber-db/audit.jsonl"
    rc, out, err = run_hook(
        payload_for({"bash": "rm -rf .fractary/plugins/faber-db/backups"}, root), ENVIRON
    )
    assert json.loads(out)["hookSpecificOutput"]["permissionDecision"] == "deny"
    deadline = time.monotonic() + 20
    while not trail.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    (line,) = [json.loads(x) for x in trail.read_text().splitlines()]
    assert line["operation"] == "guard-denied" and "records" in line["message"]


def test_guard_failure_on_a_faber_db_call_asks(monkeypatch, corpus_root):
    """An exception inside the guard never allows silently: it asks when the call matters."""

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("faber_db.guard.faberdb.judge", broken)
    for command in (
        "faber-db migrate production --approve plan-aaaaaaaaaaaaaaaa",
        "psql $PROD_DATABASE_URL -c 'drop table orders'",
        "rm .fractary/plugins/faber-db/audit.jsonl",
    ):
        out = io.StringIO()
        payload = payload_for({"bash": command}, corpus_root)
        assert hook.main(io.StringIO(json.dumps(payload)), out) == 0
        decision = json.loads(out.getvalue())["hookSpecificOutput"]
        assert decision["permissionDecision"] == "ask"
        assert "could not check" in decision["permissionDecisionReason"]
    out = io.StringIO()
    hook.main(io.StringIO(json.dumps(payload_for({"bash": "ls -la"}, corpus_root))), out)
    assert out.getvalue() == ""


def test_unreadable_input_mentioning_faber_db_asks():
    """Input the guard cannot even parse, naming faber-db, gets ask from the real hook."""
    rc, out, _ = run_hook(
        '{"tool_name": "Bash", "tool_input": {"command": "faber-db migrate production', ENVIRON
    )
    assert rc == 0
    assert json.loads(out)["hookSpecificOutput"]["permissionDecision"] == "ask"


def test_unreadable_config_asks_for_faber_db_calls(tmp_path):
    """A config the guard cannot read protects nothing it can see: it asks, never allows."""
    faber = tmp_path / ".fractary" / "plugins" / "faber-db"
    faber.mkdir(parents=True)
    (faber / "config.json").write_text("{not json")
    payload = payload_for(
        {"bash": "faber-db migrate production --approve plan-aaaaaaaaaaaaaaaa"}, tmp_path
    )
    out = io.StringIO()
    hook.main(io.StringIO(json.dumps(payload)), out)
    assert json.loads(out.getvalue())["hookSpecificOutput"]["permissionDecision"] == "ask"


@pytest.mark.parametrize("env", ["production", "staging", "dev", "eu-west", "qa_2"])
def test_guard_reads_policy_as_faber_db_does(env, tmp_path):
    """The guard's minimal config reader agrees with faber_db.config."""
    data = {
        **CONFIG,
        "environments": {**CONFIG["environments"], "qa_2": {"require_approval": True}},
    }
    cfg = faber_config.Config(path=None, project_root=tmp_path, data=data)
    assert project.is_protected(data, env) == cfg.is_protected(env)
    assert project.default_url_variable(env) == faber_config.default_url_variable(env)
    assert planview.PLAN_ID_RE.pattern == plans.PLAN_ID_RE.pattern
    from faber_db.guard import sql
    from faber_db.safety_validator import parsing

    assert sql.SQLGLOT_DIALECTS == parsing.SQLGLOT_DIALECTS


def test_guard_knows_faber_db_options():
    """Every option the guard reads is one faber-db's parser has, takes a value where the
    guard expects one, and a prefix the guard reads as it never means another option:
    wherever another option shares that prefix, argparse finds it ambiguous."""
    import argparse

    from faber_db.cli import build_parser
    from faber_db.guard import faberdb

    parsers: list[dict[str, bool]] = []

    def walk(parser, inherited: dict[str, bool]):
        own = dict(inherited)
        for action in parser._actions:
            for option in action.option_strings:
                own[option] = action.nargs != 0
        parsers.append(own)
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    walk(sub, {})

    walk(build_parser(), {})
    everywhere = {o: v for options in parsers for o, v in options.items()}
    for option, shortest in faberdb.GUARDED_OPTIONS.items():
        assert option in everywhere
        for options in parsers if option != "--force" else []:  # --force: read for init only
            clashes = [o for o in options if o != option and o.startswith(option[:shortest])]
            assert not clashes or option in options, (option, clashes)
    assert all(everywhere[o] for o in faberdb.VALUE_OPTIONS if o in everywhere)


def test_stale_plans_are_forgotten(tmp_path):
    """Storing a plan drops plans shown more than 30 days ago, and only those."""
    stale = tmp_path / "plans" / "plan-0000000000000000.json"
    stale.parent.mkdir()
    stale.write_text("{}")
    month = 31 * 86400
    os.utime(stale, (time.time() - month, time.time() - month))
    plan = {**MIGRATE_PLAN, "plan_id": PLAN_IDS["migrate_plan"]}
    result = Result(
        operation="migrate",
        status="approval_required",
        environment="production",
        result={"plan": plan, "plan_id": plan["plan_id"]},
    )
    kept = plans.store_plan(tmp_path, result)
    assert kept.is_file() and not stale.exists()
    assert json.loads(kept.read_text())["plan"] == plan


def test_no_plan_path_outside_the_store(tmp_path):
    """Only plan ids reach a path: anything else is refused before a file is named."""
    for bad in ("../x", "plan-../../a", "plan-ABCDEF0123456789", "", "plan-0123"):
        assert plans.plan_path(tmp_path, bad) is None
        assert planview.plan_file(tmp_path, bad) is None


# -- end to end ----------------------------------------------------------------------------
def test_end_to_end_person_approves_in_claude_code(tmp_path):
    """faber-db returns approval_required and keeps the plan; the hook then shows the
    person that plan (migration and finding) for the --approve command, denies any other
    plan id, and the PostToolUse hook records the confirmed approval."""
    root = tmp_path / "project"
    root.mkdir()
    proj = Project(root, {"PROD_DATABASE_URL": "sqlite:///prod.db"})
    proj.write_config(
        {
            "schema_version": "1.0",
            "database": {"provider": "sqlite", "migration_tool": "prisma"},
            "environments": {"production": {"connection_string_env": "PROD_DATABASE_URL"}},
            "safety": {"protected_environments": ["production"]},
        }
    )
    sqlite3.connect(root / "prod.db").close()
    init = (
        "CREATE TABLE account (id INTEGER PRIMARY KEY, name TEXT, email TEXT);\n"
        "INSERT INTO account VALUES (1, 'a', 'a@x'), (2, 'b', 'b@x');\n"
    )
    write_migrations(proj, {"20240101000000_init": init}, "sqlite")
    _, first = proj.run_json("migrate", "production")
    _, done = proj.run_json("migrate", "production", "--approve", first["result"]["plan_id"])
    assert done["status"] == "success", done
    write_migrations(
        proj, {"20240102000000_drop_email": "ALTER TABLE account DROP COLUMN email;\n"}, None
    )

    rc, shown = proj.run_json("migrate", "production")
    assert shown["status"] == "approval_required", shown
    plan_id = shown["result"]["plan_id"]
    stored = root / ".fractary/plugins/faber-db/state/plans" / f"{plan_id}.json"
    assert json.loads(stored.read_text())["plan"]["plan_id"] == plan_id

    environ = {**ENVIRON, "PROD_DATABASE_URL": "sqlite:///prod.db"}
    payload = payload_for({"bash": f"faber-db migrate production --approve {plan_id}"}, root)
    rc, out, err = run_hook(payload, environ)
    assert rc == 0, err
    decision = json.loads(out)["hookSpecificOutput"]
    assert decision["permissionDecision"] == "ask"
    reason = decision["permissionDecisionReason"]
    assert "20240102000000_drop_email" in reason
    assert "drop_column" in reason and "2 row(s) affected" in reason
    assert "Pre-migration backup: yes" in reason

    other = payload_for(
        {"bash": "faber-db migrate production --approve plan-0123456789abcdef"}, root
    )
    rc, out, _ = run_hook(other, environ)
    denied = json.loads(out)["hookSpecificOutput"]
    assert denied["permissionDecision"] == "deny"
    assert "run it without --approve first" in denied["permissionDecisionReason"].lower()

    # The person allowed it; the command ran; PostToolUse records the confirmation.
    rc, applied = proj.run_json("migrate", "production", "--approve", plan_id)
    assert applied["status"] == "success", applied
    after = {**payload, "hook_event_name": "PostToolUse", "tool_response": {"stdout": "{}"}}
    rc, out, err = run_hook(after, environ)
    assert (rc, out) == (0, ""), err
    lines = [
        json.loads(x)
        for x in (root / ".fractary/plugins/faber-db/audit.jsonl").read_text().splitlines()
    ]
    confirmed = [x for x in lines if x["operation"] == "guard-approval"]
    assert len(confirmed) == 1
    assert confirmed[0]["plan_id"] == plan_id and "test-session" in confirmed[0]["message"]
    assert any(x["operation"] == "guard-denied" for x in lines)


# -- wiring ---------------------------------------------------------------------------------
def test_hooks_json_runs_the_guard_directly(tmp_path, corpus_root):
    """PreToolUse (Bash; Write|Edit|MultiEdit|NotebookEdit) and PostToolUse (Bash) start the
    interpreter bin/faber-db recorded, through no shim, and it answers."""
    hooks = json.loads((REPO_ROOT / "hooks" / "hooks.json").read_text())["hooks"]
    assert [g["matcher"] for g in hooks["PreToolUse"]] == [
        "Bash",
        "Write|Edit|MultiEdit|NotebookEdit",
    ]
    assert [g["matcher"] for g in hooks["PostToolUse"]] == ["Bash"]
    commands = {
        h["command"] for g in hooks["PreToolUse"] + hooks["PostToolUse"] for h in g["hooks"]
    }
    (command,) = commands
    assert "${CLAUDE_PLUGIN_DATA}/guard-python" in command and "hooks/guard.py" in command
    (tmp_path / "guard-python").write_text(sys.executable + "\n")
    env = {**ENVIRON, "CLAUDE_PLUGIN_ROOT": str(REPO_ROOT), "CLAUDE_PLUGIN_DATA": str(tmp_path)}
    payload = payload_for({"bash": "rm -rf .fractary/plugins/faber-db/backups"}, corpus_root)
    done = subprocess.run(
        ["sh", "-c", command], input=json.dumps(payload), capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["hookSpecificOutput"]["permissionDecision"] == "deny"


def test_ensure_runtime_records_the_guard_interpreter(tmp_path):
    """`faber-db --ensure-runtime` (the SessionStart hook) writes the interpreter that has
    faber-db's dependencies to <data>/guard-python."""
    env = {**ENVIRON, "CLAUDE_PLUGIN_DATA": str(tmp_path), "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "bin" / "faber-db"), "--ensure-runtime"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert (done.returncode, done.stdout) == (0, ""), done.stderr
    assert (tmp_path / "guard-python").read_text().strip() == sys.executable


def test_odd_commands_never_crash_the_guard(corpus_root):
    """Fragments shuffled into odd commands: the guard decides or says it cannot read
    them (ShellParseError), never fails with another exception (that would mean `ask`
    for every such call, the fail-safe, rather than a judgement)."""
    from faber_db.guard.shell import ShellParseError

    pieces = [
        "faber-db",
        "migrate",
        "production",
        "--approve",
        "plan-0000000000000000",
        "|",
        "&&",
        ";",
        "(",
        ")",
        "$(",
        "`",
        '"',
        "'",
        "<<EOF",
        "\n",
        "EOF",
        ">",
        "<",
        "psql",
        "$STAGING_DATABASE_URL",
        "-c",
        "rm",
        "-rf",
        ".fractary",
        "bash",
        "ssh",
        "env",
        "-u",
        "script",
        "expect",
        "spawn",
        "python3",
        "socat",
        "EXEC:",
        "{",
        "}",
        "2>&1",
        "<<<",
        "find",
        "-exec",
        "sqlite3",
        "data/archive.db",
        "FOO=1",
        "export",
        "cd",
        "..",
        "*",
        "--config",
        "mysql",
        "-e",
        "mysqladmin",
        "drop",
        "git",
        "clean",
        "-x",
        "ln",
        "dd",
        "of=x",
        "tee",
        "sed",
        "-i",
        "sudo",
        "timeout",
        "xargs",
        "docker",
        "exec",
        "kubectl",
        "--",
        "npx",
        "prisma",
        "db",
        "push",
        "cat",
        "echo",
        "unbuffer",
    ]
    rng = random.Random(14)
    for _ in range(400):
        command = " ".join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))
        with contextlib.suppress(ShellParseError):
            hook.decide(payload_for({"bash": command}, corpus_root), ENVIRON)


def test_too_much_sql_counts_as_a_write(corpus_root):
    """SQL too long to check in time is not waved through: the hook must answer."""
    body = "\n".join(f"SELECT {i};" for i in range(600))
    command = f"psql \"$STAGING_DATABASE_URL\" <<'SQL'\n{body}\nSQL"
    decision = hook.decide(payload_for({"bash": command}, corpus_root), ENVIRON)
    assert decision.kind == "deny" and "600 statements" in decision.reason


def test_records_of_a_project_without_config_are_kept(tmp_path):
    """With its config gone (or unreadable elsewhere), faber-db's folders still hold
    backups: deleting them, or a folder above them, is refused."""
    (tmp_path / ".fractary" / "plugins" / "faber-db" / "backups").mkdir(parents=True)
    for command in ("rm -rf .fractary", "rm -rf .fractary/plugins", "mv .fractary /tmp/x"):
        decision = hook.decide(payload_for({"bash": command}, tmp_path), ENVIRON)
        assert decision is not None and decision.kind == "deny", command


def test_rollback_values_before_the_environment_are_not_taken_for_it():
    """`rollback --strategy down --to M prod`: the environment is prod, not a flag's value."""
    from faber_db.guard import faberdb

    call = faberdb.parse_call(
        ["rollback", "--strategy", "down", "--to", "20240101000000_init", "prod", "--approve", "p"]
    )
    assert (call.operation, call.env, call.approve) == ("rollback", "prod", "p")
