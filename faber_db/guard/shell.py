"""Split a shell command line into the simple commands it would run.

Uses shlex (POSIX rules, punctuation_chars) and then unwraps what runs another
command: `&&`, `||`, `;`, `|`, newlines, subshells and `$(...)`, `VAR=... cmd`
prefixes, `env`, `sudo`/`nohup`/`timeout`/`xargs`, `bash -c`/`sh -c`/`eval`,
`ssh host "..."`, `docker exec`/`kubectl exec`, `npx`/`pnpm`/`yarn`, the
pseudo-terminal wrappers (`script`, `unbuffer`, `expect`, `socat`) and
inline interpreter code (`python -c`, whose string literals are parsed as
commands too). Heredocs and here-strings become the command's stdin text.

This is a best-effort reading of what a shell would do; it never runs
anything. What it cannot read (unbalanced quotes, nesting too deep) raises
ShellParseError, which the guard answers with `ask` when the command matters.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

MAX_DEPTH = 8
MAX_SCRIPT_BYTES = 64 * 1024
PUNCTUATION = "();<>|&\n"
OPERATORS = sorted(
    ["<<<", "&>>", ">>", "<<", "&&", "||", ";;", "|&", ">&", "<&", "&>", ">|", "<>"]
    + list("();|&<>\n"),
    key=len,
    reverse=True,
)
SEPARATORS = {";", ";;", "&&", "||", "&", "\n", "(", ")"}
PIPES = {"|", "|&"}
REDIRECTS = {">", ">>", "<", "<<", "<<<", ">&", "<&", "&>", "&>>", ">|", "<>"}
KEYWORDS = {"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "{", "}"}
SKIPPED_HEADS = {"for", "case", "select", "esac", "function"}
ASSIGNMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.S)
HEREDOC = re.compile(r"(?<!<)<<(-?)[ \t]*(['\"]?)([A-Za-z_][\w.-]*)\2")
VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
SHELLS = {"sh", "bash", "zsh", "dash", "ksh", "ash", "fish"}
INTERPRETERS = re.compile(r"^(python[0-9.]*|perl|ruby|node|nodejs|deno|bun|php)$")
PTY_WRAPPERS = {"script", "unbuffer", "expect", "socat", "pty"}
# Wrappers that run the rest of their arguments as a command, and how many
# option arguments take a value (so the command after them is found).
PREFIX_WRAPPERS = {
    "sudo": {"-u", "-g", "-h", "-p", "-C", "-U", "-r", "-t", "-D"},
    "doas": {"-u", "-C"},
    "nohup": set(),
    "nice": {"-n"},
    "ionice": {"-c", "-n", "-p"},
    "time": {"-f", "-o"},
    "command": set(),
    "exec": {"-a"},
    "builtin": set(),
    "stdbuf": {"-i", "-o", "-e"},
    "chronic": set(),
    "caffeinate": set(),
    "flock": {"-w", "-E"},
    "setsid": set(),
    "chroot": set(),
    "xargs": {"-I", "-L", "-n", "-P", "-d", "-E", "-s", "-a"},
    "watch": {"-n", "-d"},
    "npx": {"-p", "--package", "-c"},
    "pnpx": set(),
    "bunx": set(),
}
SSH_OPTIONS_WITH_VALUE = set("bcDEeFIiJLlmOopQRSWw")


class ShellParseError(ValueError):
    """The command could not be read the way a shell would read it."""


class SimpleCommand:
    """One command the shell would run, with what surrounds it."""

    def __init__(
        self,
        argv: list[str],
        cwd: Path,
        assignments: dict[str, str] | None = None,
        redirects: list[tuple[str, str]] | None = None,
        stdin_text: str | None = None,
        producer: SimpleCommand | None = None,
        wrappers: tuple[str, ...] = (),
        unset: frozenset[str] = frozenset(),
        remote_host: str | None = None,
    ) -> None:
        self.argv = argv
        self.cwd = cwd
        self.assignments = assignments if assignments is not None else {}
        self.redirects = redirects if redirects is not None else []
        self.stdin_text = stdin_text
        self.producer = producer
        self.wrappers = wrappers
        self.unset = unset
        self.remote_host = remote_host

    @property
    def program(self) -> str:
        """The program's name without its directory ('' for none)."""
        return os.path.basename(self.argv[0]) if self.argv else ""

    @property
    def under_pty(self) -> bool:
        """True when a pseudo-terminal wrapper runs this command."""
        return any(w in PTY_WRAPPERS for w in self.wrappers)

    @property
    def stdin_fed(self) -> bool:
        """True when its input comes from a pipe, a file or inline text."""
        return (
            self.producer is not None
            or self.stdin_text is not None
            or any(op in ("<", "<<", "<<<", "<>") for op, _ in self.redirects)
            or "xargs" in self.wrappers
        )

    def words(self) -> list[str]:
        """Arguments, assignment values and redirect targets: all the text it carries."""
        return [*self.argv, *self.assignments.values(), *(t for _, t in self.redirects)]


class _Context:
    def __init__(
        self,
        cwd: Path,
        wrappers: tuple[str, ...] = (),
        unset: frozenset[str] = frozenset(),
        remote_host: str | None = None,
        assignments: dict[str, str] | None = None,
        variables: dict[str, str] | None = None,
        depth: int = 0,
    ) -> None:
        self.cwd = cwd
        self.wrappers = wrappers
        self.unset = unset
        self.remote_host = remote_host
        self.assignments = assignments if assignments is not None else {}
        self.variables = variables if variables is not None else {}
        self.depth = depth


class _Parser:
    def __init__(self) -> None:
        self.heredocs: list[str] = []

    # -- text to tokens ---------------------------------------------------------------
    def tokens(self, text: str) -> list[str]:
        text = self._extract_heredocs(text.replace("\\\n", " "))
        lexer = shlex.shlex(text, posix=True, punctuation_chars=PUNCTUATION)
        lexer.whitespace_split = True
        lexer.whitespace = " \t\r"
        lexer.commenters = ""
        try:
            raw = list(lexer)
        except ValueError as exc:
            raise ShellParseError(f"cannot read the command: {exc}") from None
        out: list[str] = []
        for token in raw:
            if token and all(ch in PUNCTUATION for ch in token):
                out.extend(_split_operators(token))
            else:
                out.append(token)
        return out

    def _extract_heredocs(self, text: str) -> str:
        lines = text.split("\n")
        out: list[str] = []
        i = 0
        while i < len(lines):
            pending: list[tuple[str, bool]] = []

            def mark(match: re.Match, pending=pending) -> str:
                pending.append((match.group(3), match.group(1) == "-"))
                return f"<< __heredoc_{len(self.heredocs) + len(pending) - 1}__"

            out.append(HEREDOC.sub(mark, lines[i]))
            i += 1
            for terminator, dash in pending:
                body: list[str] = []
                while i < len(lines) and (lines[i].strip() if dash else lines[i]) != terminator:
                    body.append(lines[i])
                    i += 1
                i += 1
                self.heredocs.append("\n".join(body))
        return "\n".join(out)

    # -- tokens to commands -----------------------------------------------------------
    def parse(self, text: str, ctx: _Context) -> list[SimpleCommand]:
        if ctx.depth > MAX_DEPTH:
            raise ShellParseError("commands nested too deeply to read")
        commands: list[SimpleCommand] = []
        words: list[str] = []
        redirects: list[tuple[str, str]] = []
        producer: SimpleCommand | None = None
        tokens = self.tokens(text)
        i = 0
        while i <= len(tokens):
            token = tokens[i] if i < len(tokens) else ";"
            if token in SEPARATORS or token in PIPES:
                if words and words[-1] == "$" and token == "(":
                    words.pop()
                built = self._build(words, redirects, producer, ctx, commands)
                producer = built if token in PIPES else None
                words, redirects = [], []
            elif token in REDIRECTS:
                if words and words[-1].isdigit():
                    words.pop()
                target = tokens[i + 1] if i + 1 < len(tokens) else ""
                redirects.append((token, target))
                i += 1
            else:
                words.append(token)
            i += 1
        return commands

    def _build(self, words, redirects, producer, ctx: _Context, out: list) -> SimpleCommand | None:
        while words and words[0] in KEYWORDS:
            words = words[1:]
        if not words and not redirects:
            return None
        if words and words[0] in SKIPPED_HEADS:
            return None
        assignments = dict(ctx.assignments)
        index = 0
        while index < len(words) and (match := ASSIGNMENT.match(words[index])):
            assignments[match.group(1)] = match.group(2)
            index += 1
        argv = [self._expand(w, ctx) for w in words[index:]]
        if argv and argv[0] in ("export", "declare", "typeset", "local", "readonly"):
            for word in argv[1:]:
                if match := ASSIGNMENT.match(word):
                    ctx.variables[match.group(1)] = match.group(2)
                    ctx.assignments[match.group(1)] = match.group(2)
        if not argv:
            for name, value in assignments.items():
                if name not in ctx.assignments:
                    ctx.variables[name] = value
        stdin_text = None
        for op, target in redirects:
            if op == "<<" and (m := re.fullmatch(r"__heredoc_(\d+)__", target)):
                stdin_text = self.heredocs[int(m.group(1))]
            elif op == "<<<":
                stdin_text = target
        command = SimpleCommand(
            argv=argv,
            cwd=ctx.cwd,
            assignments=assignments,
            redirects=list(redirects),
            stdin_text=stdin_text,
            producer=producer,
            wrappers=ctx.wrappers,
            unset=ctx.unset,
            remote_host=ctx.remote_host,
        )
        for word in [*words, *(t for _, t in redirects)]:
            for inner in _substitutions(word):
                out.extend(self.parse(inner, _deeper(ctx, "$()")))
        self._track_state(command, ctx)
        out.append(command)
        out.extend(self._unwrap(command, ctx))
        return command

    def _expand(self, word: str, ctx: _Context) -> str:
        if not ctx.variables or "$" not in word:
            return word

        def value(match: re.Match) -> str:
            name = match.group(1) or match.group(2)
            return ctx.variables.get(name, match.group(0))

        return VARIABLE.sub(value, word)

    def _track_state(self, command: SimpleCommand, ctx: _Context) -> None:
        argv = command.argv
        if argv[:1] in (["cd"], ["pushd"]) and len(argv) == 2 and "$" not in argv[1]:
            ctx.cwd = (ctx.cwd / os.path.expanduser(argv[1])).resolve()
        elif argv[:1] == ["unset"]:
            ctx.unset = ctx.unset | {a for a in argv[1:] if not a.startswith("-")}

    # -- wrappers ---------------------------------------------------------------------
    def _unwrap(self, command: SimpleCommand, ctx: _Context) -> list[SimpleCommand]:
        argv, name = command.argv, command.program
        if not argv:
            return []
        if name in PREFIX_WRAPPERS:
            rest = _after_options(argv[1:], PREFIX_WRAPPERS[name])
            if name == "flock" and rest:  # flock FILE command...
                rest = rest[1:]
            return self._run_rest(command, rest, name, ctx)
        if name == "timeout":
            return self._run_rest(command, _after_options(argv[1:], {"-s", "-k"})[1:], name, ctx)
        if name == "env":
            return self._env(command, ctx)
        if name in SHELLS:
            return self._shell(command, ctx)
        if name == "eval":
            return self.parse(" ".join(argv[1:]), _deeper(ctx, "eval", command))
        if name == "ssh":
            return self._ssh(command, ctx)
        if name in ("script", "unbuffer", "expect", "socat"):
            return self._pty(command, ctx)
        if INTERPRETERS.match(name):
            return self._interpreter(command, ctx)
        if name in ("pnpm", "yarn", "npm", "bun"):
            rest = argv[1:]
            if rest[:1] in (["exec"], ["dlx"], ["x"]):
                rest = _after_options(rest[1:], {"-p", "--package"})
            elif name in ("npm", "bun") or rest[:1] in (["run"], ["install"], ["add"]):
                return []
            return self._run_rest(command, rest, name, ctx)
        if name in ("docker", "podman"):
            return self._container(command, ctx)
        if name == "kubectl" and "--" in argv:
            return self._run_rest(command, argv[argv.index("--") + 1 :], "kubectl", ctx)
        if name == "find" and "-exec" in argv:
            start = argv.index("-exec") + 1
            end = next((k for k in range(start, len(argv)) if argv[k] in (";", "+")), len(argv))
            return self._run_rest(command, argv[start:end], "find", ctx)
        return []

    def _run_rest(self, command, rest: list[str], wrapper: str, ctx) -> list[SimpleCommand]:
        if not rest:
            return []
        inner_ctx = _deeper(ctx, wrapper, command)
        return self.parse(shlex.join(rest), inner_ctx)

    def _env(self, command: SimpleCommand, ctx: _Context) -> list[SimpleCommand]:
        args, unset, assignments = command.argv[1:], set(command.unset), {}
        while args:
            arg = args[0]
            if arg in ("-u", "--unset") and len(args) > 1:
                unset.add(args[1])
                args = args[2:]
            elif arg.startswith("--unset="):
                unset.add(arg.split("=", 1)[1])
                args = args[1:]
            elif arg in ("-S", "--split-string") and len(args) > 1:
                args = shlex.split(args[1]) + args[2:]
            elif arg in ("-C", "--chdir") and len(args) > 1:
                args = args[2:]
            elif arg == "--":
                args = args[1:]
            elif arg.startswith("-"):
                if arg in ("-i", "--ignore-environment", "-"):
                    unset.add("*")
                args = args[1:]
            elif match := ASSIGNMENT.match(arg):
                assignments[match.group(1)] = match.group(2)
                args = args[1:]
            else:
                break
        inner = _deeper(ctx, "env", command)
        inner.unset = frozenset(unset)
        inner.assignments = {**command.assignments, **assignments}
        return self.parse(shlex.join(args), inner) if args else []

    def _shell(self, command: SimpleCommand, ctx: _Context) -> list[SimpleCommand]:
        args = command.argv[1:]
        for k, arg in enumerate(args):
            if arg.startswith("-") and not arg.startswith("--") and "c" in arg[1:]:
                if k + 1 < len(args):
                    return self.parse(args[k + 1], _deeper(ctx, "sh -c", command))
                return []
            if not arg.startswith("-"):
                text = _read_script(command.cwd / arg)
                return self.parse(text, _deeper(ctx, "sh", command)) if text else []
        script = _literal_input(command)
        if script is not None:
            return self.parse(script, _deeper(ctx, "sh", command))
        return []

    def _ssh(self, command: SimpleCommand, ctx: _Context) -> list[SimpleCommand]:
        args, k = command.argv[1:], 0
        while k < len(args) and args[k].startswith("-"):
            flag = args[k]
            takes_value = len(flag) == 2 and flag[1] in SSH_OPTIONS_WITH_VALUE
            k += 2 if takes_value else 1
        if k >= len(args):
            return []
        host = args[k].rsplit("@", 1)[-1]
        remote = args[k + 1 :]
        text = " ".join(remote) if remote else _literal_input(command)
        if not text:
            return []
        inner = _deeper(ctx, "ssh", command)
        inner.remote_host = host
        inner.assignments = {}
        return self.parse(text, inner)

    def _pty(self, command: SimpleCommand, ctx: _Context) -> list[SimpleCommand]:
        argv, name = command.argv, command.program
        inner = _deeper(ctx, name, command)
        if name == "script":
            for k, arg in enumerate(argv[1:], start=1):
                if arg in ("-c", "--command") or (
                    arg.startswith("-") and not arg.startswith("--") and arg.endswith("c")
                ):
                    return self.parse(argv[k + 1], inner) if k + 1 < len(argv) else []
                if arg.startswith("--command="):
                    return self.parse(arg.split("=", 1)[1], inner)
            positional = [a for a in argv[1:] if not a.startswith("-")]
            return self.parse(shlex.join(positional[1:]), inner) if len(positional) > 1 else []
        if name == "unbuffer":
            rest = [a for a in argv[1:] if a not in ("-p", "-")]
            return self.parse(shlex.join(rest), inner) if rest else []
        if name == "expect":
            code = " ".join(argv[1:])
            for arg in argv[1:]:
                if not arg.startswith("-"):
                    code += "\n" + (_read_script(command.cwd / arg) or "")
            code += "\n" + (command.stdin_text or "")
            found: list[SimpleCommand] = []
            for match in re.finditer(r"spawn\s+([^\n;\]\}]+)", code):
                found.extend(self._safe_parse(match.group(1), inner))
            return found
        found = []
        for arg in argv[1:]:
            match = re.match(r"(?i)(?:exec|system):(.*)", arg)
            if match:
                found.extend(self._safe_parse(_socat_program(match.group(1)), inner))
        return found

    def _interpreter(self, command: SimpleCommand, ctx: _Context) -> list[SimpleCommand]:
        argv = command.argv
        code = ""
        for k, arg in enumerate(argv[1:], start=1):
            if arg in ("-c", "-e", "--eval", "-r", "-E") and k + 1 < len(argv):
                code = argv[k + 1]
                break
        if not code and command.stdin_text:
            code = command.stdin_text
        if not code:
            return []
        wrapper = "pty" if re.search(r"\bpty\b|openpty|forkpty", code) else command.program
        inner = _deeper(ctx, wrapper, command)
        found: list[SimpleCommand] = []
        for candidate in _code_commands(code):
            found.extend(self._safe_parse(candidate, inner))
        return found

    def _container(self, command: SimpleCommand, ctx: _Context) -> list[SimpleCommand]:
        args = command.argv[1:]
        if args[:2] == ["compose", "exec"] or args[:2] == ["container", "exec"]:
            args = args[2:]
        elif args[:1] == ["exec"]:
            args = args[1:]
        else:
            return []
        rest = _after_options(args, {"-u", "--user", "-e", "--env", "-w", "--workdir"})
        return self._run_rest(command, rest[1:], "docker exec", ctx)

    def _safe_parse(self, text: str, ctx: _Context) -> list[SimpleCommand]:
        try:
            return self.parse(text, ctx)
        except ShellParseError:
            return []


def parse_command(command: str, cwd: Path) -> list[SimpleCommand]:
    """Every simple command `command` would run (outer ones first, then what they wrap)."""
    parser = _Parser()
    return parser.parse(command, _Context(cwd=cwd))


def positional_args(args: list[str], with_value: set[str]) -> list[str]:
    """The arguments that are not options, skipping the value of each option in
    `with_value` (`-s 0 file` -> `file`)."""
    out, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg in with_value:
            skip = True
        elif not arg.startswith("-"):
            out.append(arg)
    return out


def _split_operators(token: str) -> list[str]:
    out, i = [], 0
    while i < len(token):
        for op in OPERATORS:
            if token.startswith(op, i):
                out.append(op)
                i += len(op)
                break
    return out


def _deeper(ctx: _Context, wrapper: str, command: SimpleCommand | None = None) -> _Context:
    inherited = dict(command.assignments) if command is not None else dict(ctx.assignments)
    return _Context(
        cwd=command.cwd if command is not None else ctx.cwd,
        wrappers=(*ctx.wrappers, wrapper),
        unset=ctx.unset,
        remote_host=ctx.remote_host,
        assignments=inherited,
        variables=dict(ctx.variables),
        depth=ctx.depth + 1,
    )


def _after_options(args: list[str], with_value: set[str]) -> list[str]:
    k = 0
    while k < len(args) and args[k].startswith("-"):
        if args[k] == "--":
            return args[k + 1 :]
        k += 2 if args[k] in with_value else 1
    return args[k:]


def _substitutions(word: str) -> list[str]:
    """The commands inside `$(...)` and backticks of a word."""
    found, i = [], 0
    while (start := word.find("$(", i)) != -1:
        depth, j = 0, start + 1
        while j < len(word):
            if word[j] == "(":
                depth += 1
            elif word[j] == ")":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        found.append(word[start + 2 : j])
        i = j + 1
    found.extend(re.findall(r"`([^`]*)`", word))
    return found


def _literal_input(command: SimpleCommand) -> str | None:
    """The text a command reads on stdin when it is written out in the command line."""
    if command.stdin_text is not None:
        return command.stdin_text
    producer = command.producer
    if producer is None:
        for op, target in command.redirects:
            if op == "<":
                return _read_script(command.cwd / target)
        return None
    if producer.program == "echo":
        return " ".join(a for a in producer.argv[1:] if a not in ("-e", "-n", "-E"))
    if producer.program == "printf":
        return " ".join(producer.argv[1:]).replace("\\n", "\n")
    if producer.program == "cat":
        if producer.stdin_text is not None:
            return producer.stdin_text
        texts = [_read_script(producer.cwd / a) or "" for a in producer.argv[1:]]
        return "\n".join(texts)
    return None


def _read_script(path: Path) -> str | None:
    try:
        if path.is_file() and path.stat().st_size <= MAX_SCRIPT_BYTES:
            return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return None


def _socat_program(address: str) -> str:
    text = address.strip("'\"")
    if text[:1] in "'\"":
        return text
    return text.split(",", 1)[0]


def _code_commands(code: str) -> list[str]:
    """Strings in interpreter code that may be shell commands: each string literal,
    and the literals of each [...] / (...) list joined (subprocess argument lists)."""
    literal = re.compile(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"")
    strings = [m.group(1) if m.group(1) is not None else m.group(2) for m in literal.finditer(code)]
    candidates = [s for s in strings if s.strip()]
    for group in re.finditer(r"[\[(]([^\[\]()]*)[\])]", code):
        parts = [
            m.group(1) if m.group(1) is not None else m.group(2)
            for m in literal.finditer(group.group(1))
        ]
        if len(parts) > 1:
            candidates.append(shlex.join(parts))
    return candidates
