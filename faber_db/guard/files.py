"""faber-db's own files: backups (and backups.json), the audit trail and its state
are not the agent's to delete, move, truncate or overwrite (deny); the config
is a policy a person must see changed (ask), and removing it turns protection
off (deny). Reading any of them stays free.
"""

from __future__ import annotations

import fnmatch
import glob
import os
import re
from pathlib import Path

from faber_db.guard.decision import Decision
from faber_db.guard.project import CONFIG_DIR, CONFIG_NAMES, Project
from faber_db.guard.shell import INTERPRETERS, SimpleCommand, positional_args

DELETERS = {"rm", "unlink", "rmdir", "shred", "srm", "trash", "trash-put", "wipe"}
MOVERS = {"mv"}
COPIERS = {"cp", "install", "ln", "rsync", "scp", "rclone"}
TRUNCATORS = {"truncate", "fallocate"}
WRITE_REDIRECTS = {">", ">>", ">|", "&>", "&>>", "<>"}
INLINE_WRITES = re.compile(
    r"(?i)open\s*\([^)]*['\"][wa+]|write_text|write_bytes|unlink|remove|rmtree|rename|replace"
    r"|truncate|writeFile|appendFile|rmSync|unlinkSync|File\.write|File\.delete|>>?"
)
MARKERS = (".fractary/plugins/faber-db", "audit.jsonl", "backups.json")
GLOB_LIMIT = 2000


def judge_file_tool(path_text: str, project: Project | None) -> Decision | None:
    """Write/Edit/MultiEdit/NotebookEdit of one file."""
    kind = classify(Path(path_text), project)
    if kind == "records":
        return _deny_records(path_text, "edit or overwrite")
    if kind == "config":
        return _ask_config(path_text)
    return None


def judge_command(command: SimpleCommand, project: Project | None) -> Decision | None:
    """A shell command that would delete, move, truncate or overwrite faber-db's files."""
    found: list[Decision] = []
    for op, target in command.redirects:
        if op in WRITE_REDIRECTS and target and not target.isdigit():
            found += _judge_targets(command, [target], "overwrite", project)
    program, args = command.program, command.argv[1:]
    operands = [a for a in args if not a.startswith("-")]
    if program in DELETERS:
        found += _judge_targets(command, operands, "delete", project)
    elif program in MOVERS:
        found += _judge_targets(command, operands, "move", project)
    elif program in COPIERS and operands:
        found += _judge_targets(command, operands[-1:], "overwrite", project)
        if program == "ln":  # a link into the records is a way to change them later
            found += _judge_targets(command, operands[:-1], "link to", project)
        if any(a.startswith(("--delete", "--remove-source")) for a in args):
            found += _judge_targets(command, operands, "delete", project)
    elif program in TRUNCATORS or program in ("tee", "sponge"):
        found += _judge_targets(
            command, positional_args(args, {"-s", "--size", "-l"}), "overwrite", project
        )
    elif program == "dd":
        targets = [a[3:] for a in args if a.startswith("of=")]
        found += _judge_targets(command, targets, "overwrite", project)
    elif program in ("sed", "perl", "gsed") and any(_in_place(a) for a in args):
        found += _judge_targets(command, operands, "edit", project)
    elif program == "find" and ("-delete" in args or "-exec" in args or "-execdir" in args):
        found += _judge_find(command, args, project)
    elif program == "git":
        found += _judge_git(command, args, project)
    elif INTERPRETERS.match(program):
        found += _judge_inline_code(command)
    return _first(found)


def classify(path: Path, project: Project | None) -> str | None:
    """records, config, ancestor (a folder holding faber-db's records) or None; for a
    path through a symbolic link, what the link leads to counts as well."""
    try:
        resolved = Path(os.path.abspath(path))
        real = Path(os.path.realpath(path))
    except (OSError, ValueError):
        return None
    kinds = [_classify(resolved, project)]
    if real != resolved:
        kinds.append(_classify(real, project))
    for kind in ("records", "config", "ancestor"):
        if kind in kinds:
            return kind
    return None


def _classify(resolved: Path, project: Project | None) -> str | None:
    parts = resolved.parts
    marker = CONFIG_DIR.parts
    for k in range(len(parts) - len(marker) + 1):
        if parts[k : k + len(marker)] == marker:
            below = parts[k + len(marker) :]
            if not below:
                return "ancestor"
            if len(below) == 1 and below[0] in CONFIG_NAMES:
                return "config"
            return "records"
    if project is not None:
        if resolved == project.config_path:
            return "config"
        for record in _record_paths(project):
            if resolved == record or record in resolved.parents:
                return "records"
            if resolved in record.parents:
                return "ancestor"
    return None


def _record_paths(project: Project) -> list[Path]:
    audit = project.audit_path
    return [
        project.backups_dir,
        audit,
        audit.with_name(audit.name + ".head"),
        audit.with_name(audit.name + ".lock"),
        project.state_dir,
        project.faber_dir,
    ]


def _judge_targets(command, targets: list[str], action: str, project) -> list[Decision]:
    found = []
    for target in targets:
        for path in _expand(command.cwd, target):
            kind = classify(path, project)
            if kind is None and action in ("delete", "move") and _holds_records(path):
                kind = "ancestor"
            if kind == "records" or (
                kind == "ancestor" and action in ("delete", "move", "link to")
            ):
                found.append(_deny_records(target, action))
            elif kind == "config" and action in ("delete", "move"):
                found.append(
                    Decision(
                        "deny",
                        f"faber-db guard: {action} of faber-db's config {target} is refused: without it "
                        "no environment is protected. A person changes the policy, not the agent.",
                    )
                )
            elif kind == "config":
                found.append(_ask_config(target))
        if "$" in target and any(m in target for m in MARKERS + ("fractary", "faber")):
            found.append(
                Decision(
                    "ask",
                    f"faber-db guard: this command would {action} {target}, which may be faber-db's records.",
                )
            )
    return found


def _holds_records(path: Path) -> bool:
    """A folder holding .fractary/plugins/faber-db: a project, its .fractary or its plugins."""
    if (path / CONFIG_DIR).is_dir():
        return True
    parts = CONFIG_DIR.parts
    for k in range(1, len(parts)):
        if path.parts[-k:] == parts[:k] and path.joinpath(*parts[k:]).is_dir():
            return True
    return False


def _expand(cwd: Path, target: str) -> list[Path]:
    path = os.path.expanduser(target)
    full = path if os.path.isabs(path) else os.path.join(str(cwd), path)
    if any(ch in target for ch in "*?["):
        matches = []
        for match in glob.iglob(full, recursive=False):
            matches.append(Path(match))
            if len(matches) >= GLOB_LIMIT:
                break
        return matches
    return [Path(full)]


def _judge_find(command, args: list[str], project) -> list[Decision]:
    """find ... -delete / -exec: refused when what it matches may be faber-db's records."""
    end = next((k for k, a in enumerate(args) if a.startswith(("-", "(", "!"))), len(args))
    starts = args[:end] or ["."]
    patterns = [
        args[k + 1]
        for k in range(end, len(args) - 1)
        if args[k] in ("-name", "-iname", "-path", "-ipath", "-wholename")
    ]
    found = []
    for start in starts:
        for path in _expand(command.cwd, start):
            kind = classify(path, project)
            if kind == "records":
                found.append(_deny_records(start, "delete"))
            elif (kind == "ancestor" or path.is_dir()) and _finds_records(path, patterns, project):
                found.append(_deny_records(start, "delete (find matches faber-db's records)"))
    return found


def _finds_records(start: Path, patterns: list[str], project) -> bool:
    roots = [r for r in (_record_paths(project) if project else []) if r.exists()]
    roots += [p for p in [start / CONFIG_DIR] if p.is_dir()]
    roots = [r for r in roots if r == start or start in r.parents or r in start.parents]
    if not roots:
        return False
    if not patterns:
        return True
    seen = 0
    for root in roots:
        for path in [root, *(root.rglob("*") if root.is_dir() else [])]:
            seen += 1
            if seen > GLOB_LIMIT:
                return True
            if any(
                fnmatch.fnmatch(path.name, p) or fnmatch.fnmatch(str(path), p) for p in patterns
            ):
                return True
    return False


def _judge_git(command, args: list[str], project) -> list[Decision]:
    words = [a for a in args if not a.startswith("-")]
    if not words:
        return []
    sub = words[0]
    if sub in ("rm", "mv"):
        return _judge_targets(command, words[1:], "delete" if sub == "rm" else "move", project)
    if sub in ("checkout", "restore") and len(words) > 1:
        return _judge_targets(command, words[1:], "overwrite", project)
    if sub == "clean" and any(re.match(r"^-[a-zA-Z]*[xX]", a) for a in args):
        root = project.root if project is not None else command.cwd
        if (root / CONFIG_DIR).is_dir():
            return [
                _deny_records(str(root / CONFIG_DIR), "delete (git clean -x removes ignored files)")
            ]
    return []


def _judge_inline_code(command: SimpleCommand) -> list[Decision]:
    code = " ".join(command.argv[1:]) + (command.stdin_text or "")
    if any(m in code for m in MARKERS) and INLINE_WRITES.search(code):
        return [_deny_records("faber-db's records", "change from inline code")]
    return []


def _deny_records(target: str, action: str) -> Decision:
    return Decision(
        "deny",
        f"faber-db guard: {action} of {target} is refused: faber-db's backups, backups.json, "
        "audit trail and state are its records, not the agent's to change. Read them freely; "
        "to remove backups use `faber-db backups delete <id>` or `faber-db backups prune` "
        "(a person approves on a protected environment).",
    )


def _ask_config(target: str) -> Decision:
    return Decision(
        "ask",
        f"faber-db guard: this changes faber-db's config {target}. Its protected_environments "
        "and safety settings are policy: check the change before allowing it.",
    )


def _in_place(arg: str) -> bool:
    return arg.startswith("--in-place") or bool(re.match(r"^-[a-zA-Z]*i", arg))


def _first(found: list[Decision]) -> Decision | None:
    deny = next((d for d in found if d.kind == "deny"), None)
    return deny or (found[0] if found else None)
