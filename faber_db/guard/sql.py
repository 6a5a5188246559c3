"""Is this SQL read-only? Used only when SQL for a protected database is really
present, so sqlglot (through faber_db.safety_validator.parsing) is imported lazily.

A script is read-only when every statement is: a query without INTO and
without side-effecting functions, EXPLAIN (without ANALYZE of a writing
statement), SHOW/DESCRIBE, a PRAGMA that sets nothing, transaction control;
and every client meta-command is one that only reads (psql `\\d`, sqlite `.tables`).
A statement both the keyword scan and sqlglot call read-only passes; anything
either of them does not understand counts as a write.
"""

from __future__ import annotations

import re

from faber_db.sql.split import split_sql, tokenize

SQLGLOT_DIALECTS = {"postgresql": "postgres", "mysql": "mysql", "sqlite": "sqlite"}
# The hook must answer within its timeout (10 s), or Claude Code goes on without it.
MAX_STATEMENTS = 500
READ_HEADS = {"SELECT", "WITH", "EXPLAIN", "SHOW", "DESCRIBE", "DESC", "VALUES", "TABLE", "PRAGMA"}
CONTROL_HEADS = {"BEGIN", "START", "COMMIT", "END", "ROLLBACK", "USE"}
WRITE_WORDS = {
    "INSERT", "UPDATE", "DELETE", "DROP", "ALTER", "CREATE", "TRUNCATE", "GRANT", "REVOKE",
    "MERGE", "INTO", "COPY", "CALL", "DO", "EXECUTE", "VACUUM", "REINDEX", "ATTACH", "DETACH",
    "LOAD", "RENAME", "LOCK", "CLUSTER", "REFRESH", "IMPORT", "HANDLER", "OUTFILE", "DUMPFILE",
}  # fmt: skip
SIDE_EFFECT_FUNCTIONS = re.compile(
    r"(?i)\b(pg_terminate_backend|pg_cancel_backend|pg_reload_conf|pg_rotate_logfile|set_config"
    r"|setval|nextval|lo_\w+|pg_file_\w+|dblink\w*|pg_(?:create|drop|copy)_\w+|pg_promote"
    r"|pg_switch_wal|pg_replication_origin_\w+|query_to_xml\w*|load_extension|writefile|edit"
    r"|sys_exec|sys_eval|pg_advisory\w*|pg_logical_emit_message|txid_current)\s*\("
)
PSQL_READ_META = re.compile(
    r"^\\(d[a-zA-Z+]*|l\+?|list|x|timing|conninfo|q|quit|echo|pset|a|t|encoding|\?|h|help"
    r"|s[fv]\+?|z|dp|copyright|errverbose|qecho|C|f|H|T|sf|sv|password_is_not_here)\b"
)
SQLITE_READ_DOT = {
    ".tables", ".schema", ".indexes", ".indices", ".headers", ".header", ".mode", ".dbinfo",
    ".show", ".help", ".quit", ".exit", ".width", ".nullvalue", ".separator", ".databases",
    ".timer", ".stats", ".echo", ".dump", ".fullschema", ".eqp", ".explain", ".print", ".changes",
}  # fmt: skip


def first_write(script: str, dialect: str) -> str | None:
    """The first statement of `script` that is not read-only (None: it only reads)."""
    lines, sql_lines = script.split("\n"), []
    for line in lines:
        meta = line.strip()
        if dialect == "postgresql" and meta.startswith("\\"):
            if meta.startswith("\\copy") and " from " not in meta.lower():
                continue
            if not PSQL_READ_META.match(meta):
                return meta
            continue
        if dialect == "sqlite" and meta.startswith("."):
            if meta.split()[0].lower() not in SQLITE_READ_DOT:
                return meta
            continue
        sql_lines.append(line)
    text = "\n".join(sql_lines)
    try:
        statements = split_sql(text, dialect)
    except (ValueError, RecursionError):
        return text.strip()[:200] or "(unreadable SQL)"
    if len(statements) > MAX_STATEMENTS:
        return f"({len(statements)} statements: more than the guard checks within its time limit)"
    for statement in statements:
        if not statement_reads_only(statement.text, dialect):
            return statement.text.strip()
    return None


def statement_reads_only(text: str, dialect: str) -> bool:
    """True when one statement only reads (both the keyword scan and sqlglot agree)."""
    words = [t.upper for t in tokenize(text, dialect) if t.kind == "word"]
    if not words:
        return True
    head = words[0]
    if head in CONTROL_HEADS and len(words) <= 3:
        return True
    if head not in READ_HEADS or SIDE_EFFECT_FUNCTIONS.search(text):
        return False
    if head == "EXPLAIN":
        rest = _after_explain(text, dialect)
        return rest is not None and statement_reads_only(rest, dialect)
    if head in ("SHOW", "DESCRIBE", "DESC"):
        return True  # SHOW CREATE TABLE t names CREATE but only reads
    if head == "PRAGMA":
        return "=" not in text and not (set(words[1:3]) & {"WRITABLE_SCHEMA"})
    if set(words) & WRITE_WORDS:
        return False
    return _sqlglot_reads_only(text, dialect)


def _after_explain(text: str, dialect: str) -> str | None:
    tokens = tokenize(text, dialect)
    k = 1
    while k < len(tokens) and tokens[k].upper in (
        "ANALYZE", "ANALYSE", "VERBOSE", "QUERY", "PLAN", "EXTENDED", "FORMAT", "=",
        "JSON", "TEXT", "XML", "YAML", "TREE", "TRADITIONAL",
    ):  # fmt: skip
        k += 1
    if k < len(tokens) and tokens[k].text == "(":
        close = next((j for j in range(k, len(tokens)) if tokens[j].text == ")"), None)
        if close is None:
            return None
        k = close + 1
    if k >= len(tokens):
        return None
    # The explained statement must itself only read: EXPLAIN ANALYZE runs it.
    return text[tokens[k].start :]


def _sqlglot_reads_only(text: str, dialect: str) -> bool:
    # sqlglot directly, with faber_db.safety_validator.parsing's dialect names: importing the
    # safety package as well would add about 20 ms to a hook call.
    try:
        import logging  # already loaded by sqlglot

        import sqlglot
        from sqlglot import exp
        from sqlglot.errors import SqlglotError
    except ImportError:  # no sqlglot in this interpreter: the keyword scan decides
        return True
    logging.getLogger("sqlglot").setLevel(logging.ERROR)  # no warnings on the hook's stderr
    try:
        parsed = [
            e for e in sqlglot.parse(text, read=SQLGLOT_DIALECTS.get(dialect)) if e is not None
        ]
    except (SqlglotError, RecursionError, ValueError):
        return False
    if len(parsed) != 1 or not isinstance(parsed[0], exp.Query):
        return False
    writes = (
        exp.Insert,
        exp.Update,
        exp.Delete,
        exp.Merge,
        exp.Create,
        exp.Drop,
        exp.Alter,
        exp.Into,
    )
    return parsed[0].find(*writes) is None
