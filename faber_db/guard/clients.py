"""Database clients and Prisma: which protected database a command reaches, and
whether what it would do there writes.

A command reaches a protected environment when any of its words (arguments,
`VAR=...` prefixes, redirect targets, SQL it carries) names the environment's
URL variable (`$PROD_DATABASE_URL`, `${PROD_DATABASE_URL}`), contains its URL,
names its SQLite file, or names its host and database (the database alone for a
local server, the host alone for a host no other environment uses).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from faber_db.guard.project import LOCAL_HOSTS, Project, ProtectedEnv, describe_url
from faber_db.guard.shell import SimpleCommand, _literal_input, positional_args

SQL_CLIENTS = {
    "psql": "postgresql",
    "pgcli": "postgresql",
    "mysql": "mysql",
    "mariadb": "mysql",
    "mycli": "mysql",
    "sqlite3": "sqlite",
    "sqlite": "sqlite",
    "litecli": "sqlite",
}
ADMIN_TOOLS = {"pg_restore", "dropdb", "mysqladmin", "mariadb-admin", "mariadb-dump"}
ADMIN_READS = {"status", "ping", "version", "processlist", "variables", "extended-status"}
PRISMA_WRITES = {("migrate", "reset"), ("migrate", "deploy"), ("migrate", "resolve"),
                 ("db", "push"), ("db", "execute")}  # fmt: skip
SQL_OPTIONS = {
    "postgresql": ({"-c", "--command"}, {"-f", "--file"}),
    "mysql": ({"-e", "--execute", "--init-command"}, set()),
    "sqlite": ({"-cmd"}, {"-init"}),
}
UNKNOWN_INPUT = "(SQL piped in from another program)"


def reached(command: SimpleCommand, project: Project, extra: str = "") -> ProtectedEnv | None:
    """The protected environment this command's words reach, if any."""
    words = command.words()
    # -hHOST, -dNAME, -Dshop: a short option with its value attached
    words += [w[2:] for w in words if len(w) > 2 and w[0] == "-" and w[1] != "-"]
    if command.remote_host:
        words.append(command.remote_host)
    text = "\n".join([*words, extra])
    for env in project.protected:
        if _reaches(env, text, words, command.cwd, project):
            return env
    return None


def judge_client(command: SimpleCommand, project: Project) -> tuple[ProtectedEnv, str] | None:
    """(environment, what would change) for a client that would write to a protected
    database; None when it does not reach one or only reads."""
    program = command.program
    if program in SQL_CLIENTS:
        return _judge_sql_client(command, project, SQL_CLIENTS[program])
    if program in ADMIN_TOOLS:
        env = reached(command, project)
        if env is None:
            return None
        return _judge_admin(command, env)
    if program == "prisma":
        return _judge_prisma(command, project)
    return None


def _judge_sql_client(command, project, dialect) -> tuple[ProtectedEnv, str] | None:
    scripts, unknown = _sql_sources(command, dialect)
    env = reached(command, project, "\n".join(scripts))
    if env is None:
        return None
    if command.program in ("sqlite3", "sqlite", "litecli") and "-readonly" in command.argv:
        return None
    if unknown:
        return env, unknown
    from faber_db.guard.sql import first_write

    for script in scripts:
        statement = first_write(script, dialect)
        if statement is not None:
            return env, statement
    return None


def _sql_sources(command: SimpleCommand, dialect: str) -> tuple[list[str], str | None]:
    """The SQL texts a client would run, and a description of input it cannot read."""
    inline, files = SQL_OPTIONS[dialect]
    argv, scripts, unknown = command.argv, [], None
    k = 1
    while k < len(argv):
        arg = argv[k]
        name, _, value = arg.partition("=")
        if arg in inline or arg in files:
            value = argv[k + 1] if k + 1 < len(argv) else ""
            k += 1
            name = arg
        elif name not in inline and name not in files:
            if dialect == "mysql" and arg.startswith("-e") and len(arg) > 2:
                name, value = "-e", arg[2:]
            elif dialect == "postgresql" and arg.startswith("-c") and len(arg) > 2:
                name, value = "-c", arg[2:]
            else:
                name = ""
        if name in inline:
            scripts.append(value)
        elif name in files and value == "-":
            pass  # the script comes from stdin, read below
        elif name in files:
            text = _read(command.cwd, value)
            if text is None:
                unknown = f"the SQL file {value} (which the guard cannot read)"
            else:
                scripts.append(text)
        k += 1
    if dialect == "sqlite":
        positional = [a for a in argv[1:] if not a.startswith("-")]
        scripts.extend(positional[1:])
    if command.stdin_fed:
        text = _literal_input(command)
        if text is None:
            unknown = UNKNOWN_INPUT
        else:
            scripts.append(text)
    return scripts, unknown


def _judge_admin(command: SimpleCommand, env: ProtectedEnv) -> tuple[ProtectedEnv, str] | None:
    program, args = command.program, command.argv[1:]
    if program == "mariadb-dump":
        return None
    if program == "pg_restore":
        if "-l" in args or "--list" in args:
            return None
        if not any(a in ("-d", "--dbname") or a.startswith(("--dbname=", "-d")) for a in args):
            return None
        return env, "pg_restore into the database"
    if program == "dropdb":
        return env, "dropdb (drops the database)"
    words = positional_args(
        args, {"-h", "-u", "-P", "-S", "-p", "-c", "-i", "-O", "--host", "--user", "--port"}
    )
    if words and all(w.lower() in ADMIN_READS for w in words):
        return None
    return env, f"{program} {' '.join(words) or '(administration)'}"


def _judge_prisma(command: SimpleCommand, project: Project) -> tuple[ProtectedEnv, str] | None:
    words = [a for a in command.argv[1:] if not a.startswith("-")]
    if tuple(words[:2]) not in PRISMA_WRITES:
        return None
    env = reached(command, project)
    if env is None and "DATABASE_URL" not in command.assignments:
        url = project.environ.get("DATABASE_URL") or _dotenv_url(command.cwd, project.root)
        if url and "*" not in command.unset:
            env = next((p for p in project.protected if _same_database(p, url, project)), None)
    if env is None:
        return None
    return env, f"prisma {' '.join(words[:2])}"


def _dotenv_url(cwd: Path, root: Path) -> str | None:
    """DATABASE_URL from the .env files Prisma reads (the project's and prisma/'s)."""
    for directory in dict.fromkeys((cwd, root)):
        for name in (".env", "prisma/.env"):
            text = _read(directory, name)
            for line in (text or "").splitlines():
                key, _, value = line.strip().removeprefix("export ").partition("=")
                if key.strip() == "DATABASE_URL" and value.strip():
                    return value.strip().strip("'\"")
    return None


def _reaches(env: ProtectedEnv, text: str, words: list[str], cwd: Path, project) -> bool:
    if re.search(r"\$\{?" + re.escape(env.variable) + r"(?![A-Za-z0-9_])", text):
        return True
    if env.url and env.url in text:
        return True
    if env.sqlite_path is not None:
        return any(_same_file(cwd, w, env.sqlite_path, project.root) for w in words)
    local = env.host is None or env.host in LOCAL_HOSTS
    if env.database and _mentions(text, env.database) and (local or _mentions(text, env.host)):
        return True
    if env.host and env.host not in LOCAL_HOSTS and _mentions(text, env.host):
        return not _host_shared(env.host, project)
    for word in words:
        if "://" in word and not word.startswith("sqlite"):
            host, database, _ = describe_url(word, cwd)
            if database and (host, database) == (env.host, env.database):
                return True
    return False


def _same_database(env: ProtectedEnv, url: str, project: Project) -> bool:
    if env.url and url == env.url:
        return True
    host, database, path = describe_url(url, project.root)
    if path is not None:
        return path == env.sqlite_path
    return bool(database) and (host, database) == (env.host, env.database)


def _mentions(text: str, name: str) -> bool:
    return re.search(r"(?<![\w.-])" + re.escape(name) + r"(?![\w-])", text) is not None


def _host_shared(host: str, project: Project) -> bool:
    environments = project.data.get("environments")
    if not isinstance(environments, dict):
        return False
    protected = {p.name for p in project.protected}
    for name, settings in environments.items():
        if name in protected or not isinstance(settings, dict):
            continue
        variable = settings.get("connection_string_env") or ""
        url = project.environ.get(variable) or settings.get("default_url") or ""
        if url and describe_url(url, project.root)[0] == host:
            return True
    return False


def _same_file(cwd: Path, word: str, target: Path, root: Path) -> bool:
    if word.startswith("sqlite:"):
        return describe_url(word, root)[2] == target
    candidate = word[5:].split("?", 1)[0] if word.startswith("file:") else word
    if not candidate or candidate.startswith("-") or "\n" in candidate or len(candidate) > 4096:
        return False
    if os.path.basename(candidate) != target.name:
        return False
    try:
        path = Path(os.path.expanduser(candidate))
        return (path if path.is_absolute() else cwd / path).resolve() == target
    except (OSError, ValueError):
        return False


def _read(cwd: Path, name: str) -> str | None:
    try:
        path = Path(name) if Path(name).is_absolute() else cwd / name
        return path.read_text(encoding="utf-8", errors="replace")
    except (OSError, ValueError):
        return None
