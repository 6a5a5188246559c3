"""faber-db calls, and what the guard answers them.

- `--approve <plan_id>` on a protected environment: ask, with the stored plan as
  the reason; deny when faber-db never showed that plan for this command.
- `--yes` on gated work on a protected environment: ask (it approves nothing there).
- gated work on a protected environment under a pseudo-terminal wrapper or with
  its input fed in: deny (the typed confirmation is a person's, not a pipe's).
- `--config`/`FABER_DB_CONFIG` pointing at another config, `FABER_DB_AGENT`, or
  the guard's variables unset, in front of a call for a protected environment: deny.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from faber_db.guard.decision import Decision
from faber_db.guard.planview import load_plan, plan_file, plan_matches_id, summarise
from faber_db.guard.project import Project
from faber_db.guard.shell import INTERPRETERS, SimpleCommand

GATED = ("migrate", "rollback", "restore", "resolve", "backups-delete", "backups-prune")
WITH_ENV = {"migrate", "rollback", "restore", "resolve", "backup", "status", "check", "db-create",
            "health", "drift"}  # fmt: skip
SUBCOMMANDS = {"migrate", "rollback", "restore", "resolve", "backups", "backup", "status", "check",
               "health", "drift", "report", "schedule"}  # fmt: skip
GUARD_VARIABLES = {"CLAUDECODE", "CLAUDE_CODE_ENTRYPOINT", "FABER_DB_CONFIG", "FABER_DB_AGENT"}
# Options the guard reads, and the shortest prefix argparse could take for each.
GUARDED_OPTIONS = {"--approve": 4, "--config": 4, "--yes": 3, "--dry-run": 4, "--force": 4}
VALUE_OPTIONS = {"--config", "--approve", "--from", "--into", "--label", "--retention-days",
                 "--name", "--from-file", "--reason", "--migration", "--limit",
                 "--to", "--strategy", "--down-from-file", "--rehearse-from", "--shadow-url",
                 "--env-file", "--output", "--env"}  # fmt: skip


class FaberCall:
    """One faber-db invocation, as its arguments say."""

    def __init__(self, operation, env, approve, yes, dry_run, config, positionals, force=False):
        self.operation: str = operation
        self.env: str | None = env
        self.approve: str | None = approve
        self.yes: bool = yes
        self.dry_run: bool = dry_run
        self.config: str | None = config
        self.positionals: list[str] = positionals
        self.force: bool = force


def faber_args(command: SimpleCommand) -> list[str] | None:
    """faber-db's own arguments when `command` runs faber-db, else None."""
    argv, name = command.argv, command.program
    if not argv:
        return None
    if name == "faber-db":
        return argv[1:]
    if INTERPRETERS.match(name) and name.startswith("python"):
        rest = [a for a in argv[1:] if a not in ("-u", "-B", "-E", "-s", "-I")]
        if rest[:2] in (["-m", "faber_db"], ["-m", "faber_db.cli"]):
            return rest[2:]
        if rest and os.path.basename(rest[0]) == "faber-db":
            return rest[1:]
    if name in ("uvx", "pipx", "uv") and "faber-db" in argv:
        return argv[argv.index("faber-db") + 1 :]
    hidden = "$" in argv[0] or "`" in argv[0]
    if hidden and ("faber" in argv[0] or (len(argv) > 1 and argv[1] in SUBCOMMANDS)):
        return argv[1:]  # "$(which faber-db)" or "$FABER" ...: judged as faber-db
    return None


def parse_call(args: list[str]) -> FaberCall:
    """The operation, environment and approval flags of faber-db's arguments."""
    options: dict[str, str] = {}
    flags: set[str] = set()
    positionals: list[str] = []
    k = 0
    while k < len(args):
        arg = _unabbreviated(args[k])
        if arg.startswith("--") and "=" in arg:
            key, value = arg.split("=", 1)
            options[_unabbreviated(key)] = value
        elif arg in VALUE_OPTIONS:
            options[arg] = args[k + 1] if k + 1 < len(args) else ""
            k += 1
        elif arg.startswith("-"):
            flags.add(arg)
        else:
            positionals.append(arg)
        k += 1
    operation = positionals[0] if positionals else ""
    rest = positionals[1:]
    if operation == "backups" and rest:
        operation, rest = f"backups-{rest[0]}", rest[1:]
    env = rest[0] if rest and (operation in WITH_ENV or operation == "backups-prune") else None
    return FaberCall(
        operation=operation,
        env=env,
        approve=options.get("--approve"),
        yes="--yes" in flags or "-y" in flags,
        dry_run="--dry-run" in flags,
        config=options.get("--config"),
        positionals=rest,
        force="--force" in flags,
    )


def judge_guard_variables(command: SimpleCommand, project: Project | None) -> Decision | None:
    """`export`/`unset`/`VAR=...` of a variable the guard relies on, on its own: in a
    shell that lives on, later faber-db calls would run under another policy or name."""
    if project is None or not project.protected:
        return None
    argv = command.argv
    changed: dict[str, str | None] = {}
    if argv[:1] == ["unset"] or argv[:1] == ["export"] and "-n" in argv:
        changed = {name: None for name in argv[1:] if not name.startswith("-")}
    elif argv[:1] in (["export"], ["declare"], ["typeset"], ["readonly"], ["local"]):
        for word in argv[1:]:
            name, sep, value = word.partition("=")
            if not name.startswith("-"):
                changed[name] = value if sep else None
    elif not argv:
        changed = dict(command.assignments)
    for name, value in changed.items():
        if name not in GUARD_VARIABLES:
            continue
        if (
            name == "FABER_DB_CONFIG"
            and value
            and _same_config(command.cwd, value, project.config_path)
        ):
            continue
        if value is None and argv[:1] != ["unset"] and "-n" not in argv:
            continue  # `export NAME` of a value set earlier: judged where it was set
        return Decision(
            "deny",
            f"faber-db guard: changing {name} in the agent's shell is refused: later faber-db "
            "calls would run under another policy or identity. " + _RUN_PLAIN,
        )
    return None


def _unabbreviated(arg: str) -> str:
    """argparse accepts a unique prefix of a long option (`--appr` for `--approve`):
    read any prefix of an option the guard relies on as that option."""
    name, sep, value = arg.partition("=")
    if not name.startswith("--") or name in VALUE_OPTIONS or name in GUARDED_OPTIONS:
        return arg
    for option, shortest in GUARDED_OPTIONS.items():
        if len(name) >= shortest and option.startswith(name):
            return option + sep + value
    return arg


def judge(command: SimpleCommand, project: Project | None, environ: dict) -> Decision | None:
    """The guard's answer to one faber-db call (None: no decision)."""
    args = faber_args(command)
    if args is None or project is None:
        return None
    call = parse_call(args)
    if call.operation == "init" and call.force:
        return Decision(
            "ask",
            f"faber-db guard: `faber-db init --force` replaces the project's config "
            f"({project.config_path}), its protected environments and safety policy included: "
            "a policy change a person must see.",
        )
    env = call.env or _environment_of(call, project)
    protected = env is not None and project.is_protected(env)
    unknown_env = env is None and call.operation in GATED and bool(project.protected)
    if not (protected or unknown_env):
        return None
    where = f"the protected environment '{env}'" if env else "a possibly protected environment"
    swap = _policy_swap(command, call, project, environ)
    if swap:
        return Decision(
            "deny", f"faber-db guard: {swap} for {where} is refused. " + _RUN_PLAIN, env
        )
    gated = call.operation in GATED and not call.dry_run
    if gated and (command.under_pty or _fed(command)):
        how = "under a pseudo-terminal wrapper" if command.under_pty else "with its input fed in"
        return Decision(
            "deny",
            f"faber-db guard: `faber-db {call.operation}` on {where} run {how} is refused: the typed "
            "confirmation is a person's answer. Run it plainly; faber-db returns the plan for a person "
            "to approve.",
            env,
        )
    if call.approve is not None and call.operation in GATED:
        return _judge_approve(call, env, project)
    if call.yes and gated:
        return Decision(
            "ask",
            f"faber-db guard: `faber-db {call.operation} {env or ''} --yes` on {where}: --yes approves "
            "nothing there; faber-db will show the plan that a person must approve.",
            env,
        )
    return None


_RUN_PLAIN = (
    "Run faber-db with the project's own config and environment; the person approves the plan."
)


def _judge_approve(call: FaberCall, env: str | None, project: Project) -> Decision:
    again = (
        f"Run it without --approve first (`faber-db {call.operation} {env or ''} --json`), "
        "show the plan to the person, and let them approve it."
    )
    if plan_file(project.state_dir, call.approve) is None:
        return Decision("deny", f"faber-db guard: '{call.approve}' is not a plan id. {again}", env)
    record = load_plan(project.state_dir, call.approve)
    if record is None:
        return Decision(
            "deny",
            f"faber-db guard: plan {call.approve} was never shown by faber-db in this project. {again}",
            env,
            call.approve,
        )
    if not plan_matches_id(record):
        return Decision(
            "deny",
            f"faber-db guard: the stored plan {call.approve} does not match its id (it was changed "
            f"after faber-db wrote it). {again}",
            env,
            call.approve,
        )
    shown_env = record.get("environment")
    if record.get("operation") != call.operation or (env is not None and shown_env != env):
        return Decision(
            "deny",
            f"faber-db guard: plan {call.approve} was shown for `{record.get('operation')}` on "
            f"'{shown_env}', not for this command. {again}",
            env,
            call.approve,
        )
    if env is None and not project.is_protected(str(shown_env)):
        return None
    return Decision("ask", summarise(record), shown_env, call.approve)


def _policy_swap(
    command: SimpleCommand, call: FaberCall, project: Project, environ: dict
) -> str | None:
    if "FABER_DB_AGENT" in command.assignments:
        return "setting FABER_DB_AGENT in front of faber-db"
    touched = {v for v in GUARD_VARIABLES if v in command.unset} | (
        {"the whole environment"} if "*" in command.unset else set()
    )
    touched |= {v for v in ("CLAUDECODE", "CLAUDE_CODE_ENTRYPOINT") if v in command.assignments}
    if touched:
        return "changing or unsetting " + ", ".join(sorted(touched)) + " in front of faber-db"
    for source, value in (
        ("--config", call.config),
        ("FABER_DB_CONFIG", command.assignments.get("FABER_DB_CONFIG")),
    ):
        if value is None:
            continue
        if not _same_config(command.cwd, value, project.config_path):
            return f"pointing {source} at {value or '(nothing)'} instead of the project's config"
    return None


def _same_config(cwd: Path, value: str, own: Path) -> bool:
    if not value or "$" in value:
        return False
    path = Path(os.path.expanduser(value))
    try:
        return (path if path.is_absolute() else cwd / path).resolve() == own
    except OSError:
        return False


def _fed(command: SimpleCommand) -> bool:
    if command.producer is not None or command.stdin_text is not None:
        return True
    return any(op in ("<", "<>") and t != "/dev/null" for op, t in command.redirects)


def _environment_of(call: FaberCall, project: Project) -> str | None:
    if call.approve:
        record = load_plan(project.state_dir, call.approve)
        if record and isinstance(record.get("environment"), str):
            return record["environment"]
    if call.operation == "backups-delete" and call.positionals:
        try:
            catalogue = json.loads(
                (project.backups_dir / "backups.json").read_text(encoding="utf-8")
            )
        except (OSError, ValueError):
            return None
        for entry in catalogue.get("backups", []) if isinstance(catalogue, dict) else []:
            if isinstance(entry, dict) and entry.get("id") == call.positionals[0]:
                return entry.get("environment")
    return None
