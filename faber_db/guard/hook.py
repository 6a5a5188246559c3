"""The guard's entry-point logic: Claude Code's hook input in, a decision out.

`decide(payload, environ)` is the in-process form (the tests call it);
`main()` reads the JSON on stdin, prints the PreToolUse JSON (or nothing for
no decision) and always exits 0. If the guard itself fails on a call that
mentions faber-db, a protected environment or faber-db's files, it answers
`ask`: it never silently allows what it could not judge.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

from faber_db.guard.decision import Decision, hook_output, strongest
from faber_db.guard.project import Project, ProjectConfigError, load_project, project_from

BASH = "Bash"
# Modes in which an `ask` might be answered without the person: the guard refuses instead.
UNASKED_MODES = {"bypassPermissions", "dontAsk"}
FILE_TOOLS = {"Write", "Edit", "MultiEdit", "NotebookEdit"}
SENSITIVE = re.compile(
    r"faber[-_]db|\.fractary|audit\.jsonl|backups\.json|DATABASE_URL|FABER_DB|production|prod\b",
    re.I,
)


class _Projects:
    """Projects by working directory (a command may `cd` elsewhere). A directory
    outside any project falls back to the session's own project: its protected
    databases stay protected wherever the command runs."""

    def __init__(self, environ, home: Path) -> None:
        self.environ = environ
        self.home = home
        self.cache: dict[Path, Project | None] = {}
        explicit = environ.get("FABER_DB_CONFIG")
        self.explicit = project_from(Path(explicit), environ) if explicit else None

    def at(self, cwd: Path) -> Project | None:
        if self.explicit is not None:
            return self.explicit
        if cwd not in self.cache:
            self.cache[cwd] = load_project(cwd, self.environ)
        if self.cache[cwd] is None and cwd != self.home:
            return self.at(self.home)
        return self.cache[cwd]


def decide(payload: dict, environ=None) -> Decision | None:
    """The guard's decision for one PreToolUse payload (None: no decision)."""
    environ = os.environ if environ is None else environ
    tool = payload.get("tool_name")
    tool_input = payload.get("tool_input") or {}
    cwd = Path(payload.get("cwd") or os.getcwd())
    if tool == BASH:
        command = tool_input.get("command")
        if not isinstance(command, str) or not command.strip():
            return None
        return _decide_bash(command, cwd, _Projects(environ, cwd))
    if tool in FILE_TOOLS:
        path = tool_input.get("file_path") or tool_input.get("notebook_path")
        if not isinstance(path, str) or not path:
            return None
        from faber_db.guard.files import judge_file_tool

        target = Path(path) if os.path.isabs(path) else cwd / path
        projects = _Projects(environ, cwd)
        return judge_file_tool(str(target), projects.at(cwd) or projects.at(target.parent))
    return None


def _decide_bash(command: str, cwd: Path, projects: _Projects) -> Decision | None:
    from faber_db.guard import clients, faberdb, files
    from faber_db.guard.shell import ShellParseError, parse_command

    try:
        commands = parse_command(command, cwd)
    except ShellParseError as exc:
        if SENSITIVE.search(command):
            return Decision("ask", f"faber-db guard: {exc}; check this command yourself.")
        return None
    found: list[Decision] = []
    for simple in commands:
        project = projects.at(simple.cwd)
        decision = faberdb.judge(simple, project, projects.environ)
        if decision is None:
            decision = faberdb.judge_guard_variables(simple, project)
        if decision is None and project is not None:
            decision = _client_decision(clients.judge_client(simple, project), simple)
        if decision is None:
            decision = files.judge_command(simple, project)
        if decision is not None:
            found.append(decision)
            if decision.kind == "deny":
                break
    return strongest(found)


def _client_decision(judged, simple) -> Decision | None:
    if judged is None:
        return None
    env, what = judged
    what = " ".join(what.split())[:300]
    return Decision(
        "deny",
        f"faber-db guard: `{simple.program}` would change the protected environment '{env.name}' "
        f"outside faber-db ({what}). Read-only queries (SELECT, EXPLAIN, \\d) are allowed. To change "
        f"the schema, write a migration and run `faber-db migrate {env.name}` (a person approves the "
        f"plan); to put data back, `faber-db rollback {env.name}` or "
        f"`faber-db restore {env.name} --from <backup-id>`.",
        env.name,
    )


def after_tool(payload: dict, environ=None) -> None:
    """PostToolUse: record a protected --approve that ran after the person's confirmation."""
    environ = os.environ if environ is None else environ
    if payload.get("tool_name") != BASH:
        return
    command = (payload.get("tool_input") or {}).get("command")
    if not isinstance(command, str) or "--approve" not in command:
        return
    from faber_db.guard import faberdb
    from faber_db.guard.planview import load_plan
    from faber_db.guard.record import record_approval
    from faber_db.guard.shell import ShellParseError, parse_command

    cwd = Path(payload.get("cwd") or os.getcwd())
    projects = _Projects(environ, cwd)
    try:
        commands = parse_command(command, cwd)
    except ShellParseError:
        return
    for simple in commands:
        args = faberdb.faber_args(simple)
        project = projects.at(simple.cwd)
        if args is None or project is None:
            continue
        call = faberdb.parse_call(args)
        record = load_plan(project.state_dir, call.approve) if call.approve else None
        if record is None or not project.is_protected(str(record.get("environment"))):
            continue
        record_approval(project, args, str(record.get("environment")), call.approve, payload)


def handle(payload: dict, environ=None) -> dict | None:
    """One hook call, done in full (the denial recorded before returning): the JSON to
    print (None: print nothing)."""
    output, follow_up = respond(payload, environ)
    if follow_up is not None:
        follow_up()
    return output


def respond(payload: dict, environ=None) -> tuple[dict | None, Callable[[], None] | None]:
    """The JSON to print, and work that may finish after it was printed (recording a
    denial imports faber-db's audit writer, which would double a denial's latency)."""
    if payload.get("hook_event_name") == "PostToolUse":
        after_tool(payload, environ)
        return None, None
    decision = decide(payload, environ)
    if (
        decision is not None
        and decision.kind == "ask"
        and payload.get("permission_mode") in UNASKED_MODES
    ):
        decision = Decision(
            "deny",
            "faber-db guard: this needs a person's answer, and this session does not ask "
            f"(permission mode {payload.get('permission_mode')}). Run it in a session that asks. "
            + decision.reason,
            decision.environment,
            decision.plan_id,
        )
    if decision is not None and decision.kind == "deny":
        return hook_output(decision), lambda: record_denial_of(decision, payload, environ)
    return hook_output(decision), None


def record_denial_of(decision: Decision, payload: dict, environ) -> None:
    """Append the denied attempt to the audit trail of the project it was made in."""
    from faber_db.errors import FaberError
    from faber_db.guard.record import record_denial

    cwd = Path(payload.get("cwd") or os.getcwd())
    try:
        project = _Projects(os.environ if environ is None else environ, cwd).at(cwd)
        if project is not None:
            record_denial(project, decision, payload)
    except (OSError, ValueError, FaberError, ProjectConfigError) as exc:
        # The call stays refused; only its record is missing, and the message says so.
        sys.stderr.write(f"faber-db guard: could not record a denial in the audit trail: {exc}\n")


def in_background(task: Callable[[], None]) -> None:
    """Run task in a detached child, so Claude Code has the answer without waiting for it
    (the child lets go of stdin/stdout/stderr first). Without fork, run it here."""
    try:
        pid = os.fork()
    except (AttributeError, OSError):
        task()
        return
    if pid:
        return
    try:
        os.setsid()
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        task()
    finally:
        os._exit(0)


def fail_safe(payload_text: str, error: BaseException) -> dict | None:
    """The answer when the guard itself failed: ask if the call matters, else nothing."""
    if not SENSITIVE.search(payload_text):
        return None
    return hook_output(
        Decision(
            "ask",
            f"faber-db guard could not check this call ({type(error).__name__}: {error}). It mentions "
            "faber-db, a protected environment or faber-db's files: check it yourself before allowing it.",
        )
    )


def main(stdin=None, stdout=None) -> int:
    """Read the hook input, write the decision; always 0 (Claude Code reads the JSON)."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    text = stdin.read()
    try:
        payload = json.loads(text)
        if not isinstance(payload, dict):
            raise ValueError("the hook input is not a JSON object")
        output, follow_up = respond(payload)
    except Exception as exc:  # noqa: BLE001 - the guard must answer, never crash open
        output, follow_up = fail_safe(text, exc), None
    if output is not None:
        stdout.write(json.dumps(output))
    stdout.flush()
    if follow_up is not None:
        in_background(follow_up)
    return 0
