"""Keyword analysis for statements sqlglot cannot parse.

Works on the splitter's tokens, so comments and string literals are already
out of the way ('DROP TABLE x' in a string or a comment never fires). Some
statement shapes are understood completely here (VACUUM, REINDEX, ALTER TYPE
... ADD VALUE, CREATE INDEX, RENAME TABLE, single-purpose ALTER TABLE actions,
transaction control, a few harmless commands); for those the result says
``understood`` and the analyzer emits no ``unparsed`` finding. Everything else
gets a conservative scan: when in doubt a rule fires, at its worst severity.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from faber_db.safety_validator.findings import Hit
from faber_db.safety_validator.rules.base import RuleContext
from faber_db.safety_validator.rules.objects import OBJECT_RULES, kinds_for, object_drop_hits
from faber_db.safety_validator.sqlnames import column_object, token_name
from faber_db.sql.split import tokenize

_IDENT = "\x00"


@dataclass
class FallbackResult:
    """Hits of the keyword analysis, and whether the statement was fully understood."""

    hits: list[Hit] = field(default_factory=list)
    understood: bool = False


class _Toks:
    """A statement's tokens with upper-cased keywords; identifiers never match a keyword."""

    def __init__(self, text: str, dialect: str) -> None:
        self.tokens = tokenize(text, dialect)
        self.dialect = dialect
        self.up = [_shape(t.kind, t.text) for t in self.tokens]

    def at(self, i: int, *words: str) -> bool:
        """True when the tokens from i spell words."""
        return self.up[i : i + len(words)] == list(words)

    def skip(self, i: int, *words: str) -> int:
        """i moved past words when they are there."""
        return i + len(words) if self.at(i, *words) else i

    def name(self, i: int) -> tuple[str, int]:
        """The (qualified) name starting at i, and the index after it."""
        parts: list[str] = []
        while i < len(self.tokens) and self.tokens[i].kind in ("word", "ident"):
            parts.append(token_name(self.tokens[i], self.dialect))
            if self.up[i + 1 : i + 2] != ["."]:
                return ".".join(parts), i + 1
            i += 2
        return ".".join(parts), i

    def names(self, i: int) -> tuple[list[str], int]:
        """A comma-separated list of names from i."""
        found = []
        while True:
            name, i = self.name(i)
            if name:
                found.append(name)
            if self.up[i : i + 1] != [","]:
                return found, i
            i += 1


def _shape(kind: str, text: str) -> str:
    if kind == "word":
        return text.upper()
    if kind == "ident":
        return _IDENT
    return "'" if kind == "string" else text


def analyze_fallback(text: str, ctx: RuleContext) -> FallbackResult:
    """Keyword analysis of one statement that sqlglot did not understand."""
    toks = _Toks(text, ctx.dialect)
    if not toks.tokens:
        return FallbackResult(understood=True)
    for reader in _STATEMENT_READERS:
        result = reader(toks, ctx)
        if result is not None:
            return result
    return FallbackResult(_scan_delete_update(toks, ctx))


# --- statements understood completely -------------------------------------------------

_TRANSACTION_HEADS = (("BEGIN",), ("START", "TRANSACTION"), ("COMMIT",), ("END",), ("ABORT",))
_HARMLESS_HEADS = (
    ("CREATE", "EXTENSION"),
    ("CREATE", "POLICY"),
    ("ALTER", "POLICY"),
    ("DROP", "POLICY"),
    ("REFRESH", "MATERIALIZED", "VIEW"),
    ("SAVEPOINT",),
    ("RELEASE",),
    ("ROLLBACK", "TO"),
    ("LOCK",),
    ("ANALYZE",),
    ("OPTIMIZE", "TABLE"),
    ("SET",),
)


def _transaction_or_harmless(toks: _Toks, ctx: RuleContext) -> FallbackResult | None:
    if any(toks.at(0, *head) for head in _HARMLESS_HEADS):
        return FallbackResult(understood=True)
    if toks.at(0, "ROLLBACK") or any(toks.at(0, *head) for head in _TRANSACTION_HEADS):
        message = (
            f"{toks.up[0]} inside a migration: faber-db runs each migration in its own transaction, "
            "so this ends or nests it and the migration is no longer applied atomically"
        )
        return FallbackResult([Hit("transaction_control", "warning", message)], understood=True)
    return None


def _maintenance(toks: _Toks, ctx: RuleContext) -> FallbackResult | None:
    head = toks.up[0]
    if head not in ("VACUUM", "CLUSTER", "REINDEX"):
        return None
    if ctx.dialect != "postgresql":
        return FallbackResult(understood=True)
    if head == "REINDEX":
        if "CONCURRENTLY" in toks.up:
            return FallbackResult(understood=True)
        name = _maintenance_table(toks)
        message = f"REINDEX {name} without CONCURRENTLY blocks writes (and reads through the index) until it ends"
        hit = Hit("reindex_non_concurrent", "warning", message, name or None)
        return FallbackResult([hit], understood=True)
    if head == "VACUUM" and "FULL" not in toks.up:
        return FallbackResult(understood=True)
    name = _maintenance_table(toks)
    message = (
        f"{head}{' FULL' if head == 'VACUUM' else ''} rewrites the table under an ACCESS EXCLUSIVE lock "
        "(no reads or writes until done); prefer pg_repack"
    )
    hit = Hit("vacuum_full_or_cluster", "warning", message, name or None, name or None)
    return FallbackResult([hit], understood=True)


_MAINTENANCE_OPTIONS = {"FULL", "VERBOSE", "ANALYZE", "FREEZE", "TABLE", "INDEX", "SCHEMA"}
_MAINTENANCE_OPTIONS |= {"DATABASE", "SYSTEM"}


def _maintenance_table(toks: _Toks) -> str:
    """The object VACUUM/CLUSTER/REINDEX works on, after its options."""
    i = 1
    if toks.at(1, "(") and ")" in toks.up:
        i = toks.up.index(")") + 1
    while i < len(toks.up) and toks.up[i] in _MAINTENANCE_OPTIONS:
        i += 1
    return toks.name(i)[0]


def _alter_type(toks: _Toks, ctx: RuleContext) -> FallbackResult | None:
    if not toks.at(0, "ALTER", "TYPE"):
        return None
    name, i = toks.name(2)
    if toks.at(i, "ADD", "VALUE"):
        if not ctx.version_below(12):
            return FallbackResult(understood=True)
        message = (
            f"ALTER TYPE {name} ADD VALUE cannot run inside a transaction block before PostgreSQL 12: "
            "the migration fails unless it runs outside a transaction"
        )
        return FallbackResult(
            [Hit("alter_type_add_value_in_transaction", "danger", message, name)], True
        )
    understood = toks.up[i : i + 1] in (["RENAME"], ["OWNER"], ["SET"])
    return FallbackResult(understood=understood)


def _rename_table(toks: _Toks, ctx: RuleContext) -> FallbackResult | None:
    if not toks.at(0, "RENAME", "TABLE"):
        return None
    hits, i = [], 2
    while i < len(toks.up):
        old, i = toks.name(i)
        new, i = toks.name(i + 1) if toks.at(i, "TO") else ("", i)
        message = (
            f"renaming table {old} to {new} breaks application code that still uses the old name"
        )
        hits.append(Hit("rename_table", "warning", message, old, old))
        i = i + 1 if toks.at(i, ",") else len(toks.up)
    return FallbackResult(hits, understood=True)


def _create_index(toks: _Toks, ctx: RuleContext) -> FallbackResult | None:
    i = toks.skip(1, "UNIQUE")
    for kind in ("FULLTEXT", "SPATIAL"):
        i = toks.skip(i, kind)
    if not (toks.at(0, "CREATE") and toks.at(i, "INDEX")):
        return None
    if "ON" not in toks.up:
        return FallbackResult()
    table, _ = toks.name(toks.skip(toks.up.index("ON") + 1, "ONLY"))
    name = toks.name(toks.skip(toks.skip(i + 1, "CONCURRENTLY"), "IF", "NOT", "EXISTS"))[0]
    name = "" if name.upper() == "ON" else name
    hits = []
    if toks.at(1, "UNIQUE"):
        message = f"CREATE UNIQUE INDEX {name} fails if {table} already holds duplicate values"
        hits.append(Hit("create_unique_index", "warning", message, name or table, table))
    if ctx.dialect == "postgresql" and not toks.at(i + 1, "CONCURRENTLY"):
        message = (
            f"CREATE INDEX {name} without CONCURRENTLY blocks writes to {table} for the whole build"
        )
        hits.append(Hit("create_index_non_concurrent", "warning", message, name or table, table))
    hits.extend(_mysql_options(toks, table, ctx))
    return FallbackResult(hits, understood=True)


def _drop_index(toks: _Toks, ctx: RuleContext) -> FallbackResult | None:
    if not toks.at(0, "DROP", "INDEX"):
        return None
    concurrently = toks.at(2, "CONCURRENTLY")
    names, i = toks.names(toks.skip(toks.skip(2, "CONCURRENTLY"), "IF", "EXISTS"))
    table = toks.name(i + 1)[0] if toks.at(i, "ON") else None
    lock = "; without CONCURRENTLY it takes an ACCESS EXCLUSIVE lock on the table"
    note = lock if ctx.dialect == "postgresql" and not concurrently else ""
    hits = [
        Hit(
            "drop_index",
            "warning",
            f"DROP INDEX {name}: queries that used it can become slow{note}",
            name,
            table,
        )
        for name in names
    ]
    return FallbackResult(hits, understood=True)


def _drop_or_truncate(toks: _Toks, ctx: RuleContext) -> FallbackResult | None:
    if toks.at(0, "TRUNCATE"):
        return _truncate(toks)
    i = toks.skip(toks.skip(1, "TEMPORARY"), "TEMP")
    kind = toks.up[i] if toks.at(0, "DROP") and i < len(toks.up) else ""
    if kind not in ("TABLE", "DATABASE", "SCHEMA"):
        return None
    names, end = toks.names(toks.skip(i + 1, "IF", "EXISTS"))
    understood = all(word in ("CASCADE", "RESTRICT", "FORCE") for word in toks.up[end:])
    return FallbackResult([_drop_hit(kind, name, ctx) for name in names], understood)


def _drop_hit(kind: str, name: str, ctx: RuleContext) -> Hit:
    if kind == "TABLE":
        message = (
            f"DROP TABLE {name} deletes the table and all its rows; only a backup brings them back"
        )
        return Hit("drop_table", "danger", message, name, name)
    rule = "drop_schema" if kind == "SCHEMA" and ctx.dialect != "mysql" else "drop_database"
    return Hit(rule, "blocked", f"DROP {kind} {name} is never run by automation", name)


def _drop_object(toks: _Toks, ctx: RuleContext) -> FallbackResult | None:
    """DROP VIEW/TYPE/DOMAIN/FUNCTION/.../EVENT, with the hits the parsed rule gives."""
    if not toks.at(0, "DROP") or len(toks.up) < 2:
        return None
    kind = "MATERIALIZED VIEW" if toks.at(1, "MATERIALIZED", "VIEW") else toks.up[1]
    if kind not in OBJECT_RULES:
        return None
    i = toks.skip(1 + len(kind.split()), "IF", "EXISTS")
    names, signature = [], ""
    while i < len(toks.up):
        name, i = toks.name(i)
        if not name:
            break
        names.append(name)
        if toks.at(i, "(") and ")" in toks.up[i:]:
            close = toks.up.index(")", i)
            signature = "(" + " ".join(t.text for t in toks.tokens[i + 1 : close]) + ")"
            i = close + 1
        if not toks.at(i, ","):
            break
        i += 1
    on_table = None
    if toks.at(i, "ON"):
        on_table, i = toks.name(i + 1)
    rest = toks.up[i:]
    understood = (
        bool(names)
        and kind in kinds_for(ctx.dialect)
        and all(word in ("CASCADE", "RESTRICT") for word in rest)
    )
    hits = object_drop_hits(kind, names, "CASCADE" in rest, ctx.dialect, on_table, signature)
    return FallbackResult(hits, understood)


def _truncate(toks: _Toks) -> FallbackResult:
    names, end = toks.names(toks.skip(toks.skip(1, "TABLE"), "ONLY"))
    hits = []
    for name in names:
        message = f"TRUNCATE {name} deletes every row at once; only a backup brings them back"
        hits.append(Hit("truncate", "danger", message, name, name))
        if "CASCADE" in toks.up[end:]:
            message = f"TRUNCATE {name} CASCADE also empties every table with a foreign key to it"
            hits.append(Hit("truncate_cascade", "danger", message, name, name))
    understood = all(
        w in ("CASCADE", "RESTRICT", "CONTINUE", "RESTART", "IDENTITY") for w in toks.up[end:]
    )
    return FallbackResult(hits, understood)


# --- ALTER TABLE, action by action ------------------------------------------------------


@dataclass
class _Action:
    """One comma-separated action of an ALTER TABLE, as a token range."""

    toks: _Toks
    start: int
    end: int
    table: str

    @property
    def words(self) -> list[str]:
        """The action's keywords (identifiers show as a marker)."""
        return self.toks.up[self.start : self.end]

    def name_after(self, *optional: str) -> str:
        """The name following the head word and any of the optional words."""
        i = self.start + 1
        for word in optional:
            i = self.toks.skip(i, *word.split())
        return self.toks.name(i)[0]

    def column(self, name: str) -> str:
        """The object string of a column of the altered table."""
        return column_object(self.table, name)


def _alter_table(toks: _Toks, ctx: RuleContext) -> FallbackResult | None:
    if not toks.at(0, "ALTER", "TABLE"):
        return None
    i = toks.skip(toks.skip(2, "IF", "EXISTS"), "ONLY")
    table, i = toks.name(i)
    not_valid = toks.up[-2:] == ["NOT", "VALID"]
    result = FallbackResult(understood=True)
    for start, end in _merge_partition_lists(toks, _action_ranges(toks.up, i)):
        hits, complete = _action_hits(_Action(toks, start, end, table), ctx, not_valid)
        result.hits.extend(hits)
        result.understood = result.understood and complete
    result.hits.extend(_mysql_options(toks, table, ctx))
    return result


def _action_ranges(up: list[str], i: int) -> list[tuple[int, int]]:
    ranges, depth, start = [], 0, i
    for k in range(i, len(up)):
        depth += {"(": 1, ")": -1}.get(up[k], 0)
        if up[k] == "," and depth == 0:
            ranges.append((start, k))
            start = k + 1
    ranges.append((start, len(up)))
    return [(s, e) for s, e in ranges if e > s]


def _merge_partition_lists(toks: _Toks, ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``DROP PARTITION p1, p2``: the names after a comma belong to the partition action."""
    merged: list[tuple[int, int]] = []
    for start, end in ranges:
        if (
            merged
            and "PARTITION" in toks.up[merged[-1][0] : merged[-1][0] + 2]
            and end - start == 1
        ):
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


_COMPLETE_HEADS = {"VALIDATE", "OWNER", "ENABLE", "DISABLE", "FORCE", "NO", "REPLICA", "ATTACH"}
_COMPLETE_HEADS |= {"ALGORITHM", "LOCK", "CLUSTER", "SET"}


def _action_hits(action: _Action, ctx: RuleContext, not_valid: bool) -> tuple[list[Hit], bool]:
    head = action.words[0]
    if head in _COMPLETE_HEADS:
        return [], True
    reader = _ACTION_READERS.get(head)
    return reader(action, ctx, not_valid) if reader else ([], False)


def _action_drop(action: _Action, ctx: RuleContext, _not_valid: bool) -> tuple[list[Hit], bool]:
    words, table = action.words, action.table
    if words[1:3] in (["PRIMARY", "KEY"], ["FOREIGN", "KEY"]):
        name = action.name_after("PRIMARY KEY", "FOREIGN KEY") or "PRIMARY KEY"
        if words[1] == "FOREIGN":
            message = f"DROP FOREIGN KEY {table}.{name}: orphan rows can appear from now on"
            return [Hit("drop_foreign_key", "warning", message, f"{table}.{name}", table)], True
        message = f"DROP PRIMARY KEY on {table} removes its uniqueness guarantee and its index"
        return [Hit("drop_constraint", "warning", message, f"{table}.{name}", table)], True
    kind = words[1] if len(words) > 1 else ""
    if kind in ("CONSTRAINT", "CHECK", "INDEX", "KEY"):
        return [_dropped_key(kind, action.name_after(kind, "IF EXISTS"), table)], True
    if kind == "PARTITION":
        return [_partition_hit(table)], True
    if kind == "DEFAULT":
        return [], True
    column = action.name_after("COLUMN", "IF EXISTS")
    message = f"DROP COLUMN {action.column(column)} deletes that column's data in every row"
    return [Hit("drop_column", "danger", message, action.column(column), table, (column,))], True


def _dropped_key(kind: str, name: str, table: str) -> Hit:
    if kind in ("INDEX", "KEY"):
        return Hit(
            "drop_index",
            "warning",
            f"DROP INDEX {name}: queries that used it can become slow",
            name,
            table,
        )
    message = f"DROP CONSTRAINT {table}.{name}: the rule it enforced no longer protects new data"
    return Hit("drop_constraint", "warning", message, f"{table}.{name}", table)


def _partition_hit(table: str) -> Hit:
    message = f"dropping or truncating a partition of {table} deletes every row stored in it"
    return Hit("drop_partition", "danger", message, table, table)


def _action_alter(action: _Action, ctx: RuleContext, _not_valid: bool) -> tuple[list[Hit], bool]:
    words, table = action.words, action.table
    column = action.name_after("COLUMN")
    obj = action.column(column)
    if "TYPE" in words:
        message = f"changing the type of {obj} (not fully parsed: treated as able to lose data) rewrites the table"
        return [Hit("alter_column_type", "danger", message, obj, table, (column,))], False
    if words[-3:] == ["SET", "NOT", "NULL"]:
        message = f"SET NOT NULL on {obj} scans the table and fails if any row holds NULL"
        return [Hit("set_not_null", "warning", message, obj, table, (column,))], True
    if words[-3:] == ["DROP", "NOT", "NULL"]:
        message = f"DROP NOT NULL on {obj}: code that assumes a value will meet NULLs"
        return [Hit("drop_not_null", "warning", message, obj, table, (column,))], True
    return [], "STATISTICS" in words or "DEFAULT" in words or "STORAGE" in words


def _action_modify(action: _Action, ctx: RuleContext, _not_valid: bool) -> tuple[list[Hit], bool]:
    words, table, toks = action.words, action.table, action.toks
    column, i = toks.name(toks.skip(action.start + 1, "COLUMN"))
    obj = action.column(column)
    message = f"{words[0]} redefines {obj} (not fully parsed: treated as able to lose data); MySQL copies the table"
    hits = [Hit("alter_column_type", "danger", message, obj, table, (column,))]
    new = toks.name(i)[0] if words[0] == "CHANGE" else column
    if new != column:
        message = (
            f"renaming column {obj} to {new} breaks application code that still uses the old name"
        )
        hits.append(Hit("rename_column", "warning", message, obj, table, (column,)))
    if any(words[k : k + 2] == ["NOT", "NULL"] for k in range(len(words))):
        message = f"{obj} is redefined NOT NULL: existing NULLs make it fail or get replaced"
        hits.append(Hit("set_not_null", "warning", message, obj, table, (column,)))
    return hits, False


def _action_rename(action: _Action, ctx: RuleContext, _not_valid: bool) -> tuple[list[Hit], bool]:
    words, table = action.words, action.table
    if words[1:2] in (["TO"], ["AS"]):
        message = f"renaming table {table} to {action.name_after(words[1])} breaks code that uses the old name"
        return [Hit("rename_table", "warning", message, table, table)], True
    if words[1:2] in (["CONSTRAINT"], ["INDEX"], ["KEY"]):
        return [], True
    column = action.name_after("COLUMN")
    obj = action.column(column)
    message = f"renaming column {obj} breaks application code that still uses the old name"
    return [Hit("rename_column", "warning", message, obj, table, (column,))], True


def _action_add(action: _Action, ctx: RuleContext, not_valid: bool) -> tuple[list[Hit], bool]:
    words = action.words
    body = words[3:] if words[1:2] == ["CONSTRAINT"] else words[1:]
    if "USING" in body and "INDEX" in body:
        return [], True
    if body[:1] in (["UNIQUE"], ["CHECK"]) or body[:2] in (["PRIMARY", "KEY"], ["FOREIGN", "KEY"]):
        hit = _constraint_hit(body, action.table, ctx, not_valid or words[-2:] == ["NOT", "VALID"])
        if hit is not None and words[1:2] == ["CONSTRAINT"]:
            hit.object = f"{action.table}.{action.name_after('CONSTRAINT')}"
        return ([hit] if hit else []), True
    if body[:1] in (["INDEX"], ["KEY"], ["FULLTEXT"], ["SPATIAL"], ["PARTITION"]):
        return [], True
    return _add_column_hits(body, action, ctx), False


def _constraint_hit(body: list[str], table: str, ctx: RuleContext, not_valid: bool) -> Hit | None:
    """The hit of ADD UNIQUE/PRIMARY KEY/FOREIGN KEY/CHECK; None when NOT VALID makes it cheap."""
    if body[:1] == ["UNIQUE"]:
        message = (
            f"ADD UNIQUE on {table} fails if existing rows hold duplicates, and builds an index"
        )
        return Hit("add_unique_constraint", "warning", message, table, table)
    if body[:2] == ["PRIMARY", "KEY"]:
        message = f"ADD PRIMARY KEY on {table} fails on duplicates or NULLs, and builds an index"
        return Hit("add_primary_key", "warning", message, table, table)
    if ctx.dialect == "postgresql" and not_valid:
        return None
    what = "CHECK" if body[0] == "CHECK" else "FOREIGN KEY"
    rule = "add_check_constraint" if what == "CHECK" else "add_foreign_key"
    return Hit(
        rule, "warning", f"ADD {what} on {table} checks every row under a lock", table, table
    )


_FILLS_ITSELF = {"DEFAULT", "GENERATED", "AUTO_INCREMENT", "SERIAL", "BIGSERIAL", "SMALLSERIAL"}
_FILLS_ITSELF |= {"IDENTITY"}


def _add_column_hits(body: list[str], action: _Action, ctx: RuleContext) -> list[Hit]:
    table, hits = action.table, []
    column = action.name_after("COLUMN", "IF NOT EXISTS")
    obj = action.column(column)
    not_null = any(
        body[k : k + 2] in (["NOT", "NULL"], ["PRIMARY", "KEY"]) for k in range(len(body))
    )
    if not_null and not _FILLS_ITSELF & set(body):
        message = f"ADD COLUMN {obj} NOT NULL without DEFAULT fails or fills existing rows with implicit values"
        hits.append(Hit("add_not_null_without_default", "danger", message, obj, table, (column,)))
    if "REFERENCES" in body and ctx.dialect != "sqlite":
        rule = "inline_references_ignored" if ctx.dialect == "mysql" else "add_foreign_key"
        hits.append(
            Hit(rule, "warning", f"ADD COLUMN {obj} ... REFERENCES: see {rule}", obj, table)
        )
    return hits


def _mysql_options(toks: _Toks, table: str, ctx: RuleContext) -> list[Hit]:
    if ctx.dialect != "mysql":
        return []
    found = [
        f"{toks.up[i]}={toks.up[i + 2]}"
        for i in range(len(toks.up) - 2)
        if toks.up[i + 1] == "="
        and (toks.up[i], toks.up[i + 2])
        in (("ALGORITHM", "COPY"), ("LOCK", "SHARED"), ("LOCK", "EXCLUSIVE"))
    ]
    if not found:
        return []
    message = f"{', '.join(found)} on {table} blocks writes for the whole operation"
    return [Hit("mysql_blocking_alter", "warning", message, table, table)]


def _action_detach(action: _Action, ctx: RuleContext, _not_valid: bool) -> tuple[list[Hit], bool]:
    words = action.words
    if words[:2] != ["DETACH", "PARTITION"]:
        return [], False
    if "CONCURRENTLY" in words or "FINALIZE" in words:
        return [], True
    message = f"DETACH PARTITION on {action.table} without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on it"
    return [
        Hit("detach_partition_non_concurrent", "warning", message, action.table, action.table)
    ], True


def _action_truncate(action: _Action, ctx: RuleContext, _not_valid: bool) -> tuple[list[Hit], bool]:
    if action.words[1:2] == ["PARTITION"]:
        return [_partition_hit(action.table)], True
    return [], False


ActionReader = Callable[[_Action, RuleContext, bool], tuple[list[Hit], bool]]
_ACTION_READERS: dict[str, ActionReader] = {
    "DROP": _action_drop,
    "ALTER": _action_alter,
    "MODIFY": _action_modify,
    "CHANGE": _action_modify,
    "RENAME": _action_rename,
    "ADD": _action_add,
    "DETACH": _action_detach,
    "TRUNCATE": _action_truncate,
}


# --- the conservative scan --------------------------------------------------------------


def _scan_delete_update(toks: _Toks, ctx: RuleContext) -> list[Hit]:
    """DELETE/UPDATE at a statement position with no WHERE at the same depth."""
    starts = [
        i
        for i, word in enumerate(toks.up)
        if word in ("DELETE", "UPDATE") and (i == 0 or toks.up[i - 1] in ("(", ")"))
    ]
    if not starts:
        return []
    filtered = _filtered_starts(toks.up, starts)
    next_from = _next_positions(toks.up, "FROM")
    return [
        _unfiltered_hit(toks.up[i], toks, i, next_from, ctx) for i in starts if i not in filtered
    ]


def _filtered_starts(up: list[str], starts: list[int]) -> set[int]:
    """The starts followed by a WHERE at their own depth before their parenthesis closes.

    One pass over the tokens: each start waits at its depth until a WHERE there
    settles it (filtered) or a ``)`` below it does (unfiltered).
    """
    waiting: dict[int, list[int]] = {}
    filtered: set[int] = set()
    pending = iter(starts)
    following = next(pending, None)
    depth = 0
    for k, word in enumerate(up):
        if word == "(":
            depth += 1
        elif word == ")":
            waiting.pop(depth, None)
            depth -= 1
        elif word == "WHERE" and depth in waiting:
            filtered.update(waiting.pop(depth))
        if k == following:
            waiting.setdefault(depth, []).append(k)
            following = next(pending, None)
    return filtered


def _next_positions(up: list[str], word: str) -> list[int]:
    """For each index, the index of the next occurrence of word at or after it (or -1)."""
    found, positions = -1, [0] * len(up)
    for k in range(len(up) - 1, -1, -1):
        if up[k] == word:
            found = k
        positions[k] = found
    return positions


_UPDATE_MODIFIERS = {"LOW_PRIORITY", "IGNORE", "ONLY", "OR", "REPLACE", "ABORT", "FAIL", "ROLLBACK"}


def _unfiltered_hit(word: str, toks: _Toks, i: int, next_from: list[int], ctx: RuleContext) -> Hit:
    j = i + 1
    if word == "DELETE":
        j = next_from[i] + 1 if next_from[i] >= 0 else j
    while j < len(toks.up) and toks.up[j] in _UPDATE_MODIFIERS:
        j += 1
    table, _ = toks.name(j)
    rule = "delete_without_where" if word == "DELETE" else "update_without_where"
    message = f"{word} {table} has no WHERE clause: it changes every row"
    return Hit(rule, "danger", message, table or None, table or None)


_STATEMENT_READERS = (
    _transaction_or_harmless,
    _maintenance,
    _alter_type,
    _rename_table,
    _create_index,
    _drop_index,
    _drop_object,
    _drop_or_truncate,
    _alter_table,
)
