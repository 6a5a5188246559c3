"""Split a migration script into statements the way the engine's own client would.

One hand-written scanner serves the three engines. It knows each engine's
comments, string and identifier quoting, PostgreSQL dollar quoting, and the
compound statements that contain semicolons of their own:

* PostgreSQL: like psql, a semicolon inside parentheses does not end a
  statement, and ``CREATE [OR REPLACE] FUNCTION|PROCEDURE ... BEGIN ATOMIC
  ... END`` is tracked by its BEGIN/CASE/END depth.
* MySQL/MariaDB: like the server (Prisma sends a migration as one
  multi-statement query), ``CREATE PROCEDURE/FUNCTION/TRIGGER/EVENT`` bodies
  and MariaDB's ``BEGIN NOT ATOMIC`` are tracked by their BEGIN/IF/CASE/LOOP/
  WHILE/REPEAT ... END nesting. ``DELIMITER`` lines (mysql client syntax) are
  honoured and removed.
* SQLite: like ``sqlite3_complete()``, ``CREATE TRIGGER`` ends only at
  ``; END ;``.

The scanner jumps over strings and comments with ``str.find`` and matches
words with one simple regex, so a 1 MB script splits in a fraction of a second.
Every step looks at each character a bounded number of times, so the time is
linear in the script's size (bench/check.py measures it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

DIALECTS = ("postgresql", "mysql", "sqlite")
_ALIASES = {
    "postgres": "postgresql",
    "pg": "postgresql",
    "postgresql": "postgresql",
    "mysql": "mysql",
    "mariadb": "mysql",
    "sqlite": "sqlite",
    "sqlite3": "sqlite",
}

_WORD = re.compile(r"[\w$]+")
_SPACE = re.compile(r"\s+")
_DOLLAR_TAG = re.compile(r"\$(?:[^\W\d]\w*)?\$")
_TRIVIA_STARTS = frozenset(" \t\r\n\f\v-#/")
# The common tokens, read in one regex step: a word (not glued to a quote: E'...' is a
# string) or punctuation that opens nothing in any dialect. Anything else (quotes,
# comments, "$", ";", "-", "/", "#", "[") takes the general path.
_PLAIN = r"(?:([\w][\w$]*+)(?!')|([(),.=+*<>:!%^&|~?@{}\]]))"
_PLAIN_TOKEN = re.compile(rf"\s*+{_PLAIN}")
# Tests turn the shortcuts off to compare with the general path.
FAST_TOKENS = True
# A run of such tokens, parentheses and plain '...' strings (no backslash) included, that
# nothing tracks but PostgreSQL's parentheses (counted outside its strings: _PARENS).
_FREE_RUN = re.compile(
    r"(?:\s*+(?:[\w][\w$]*+(?!')|'[^'\\]*+(?:''[^'\\]*+)*+'|[(),.=+*<>:!%^&|~?@{}\]]))*+"
)
# A script of nothing but plain tokens and semicolons, and one statement of it.
_PLAIN_SCRIPT = re.compile(
    r"(?:\s*+(?:[\w][\w$]*+(?!')|'[^'\\]*+(?:''[^'\\]*+)*+'|[(),.=+*<>:!%^&|~?@{}\];]))*+\s*+"
)
_PLAIN_PIECE = re.compile(r"(?:[^;']++|'[^'\\]*+(?:''[^'\\]*+)*+')++")
_TERMINATOR = re.compile(r"\s*+(?:;|\Z)")
_HEAD_WORDS = re.compile(r"'[^'\\]*+(?:''[^'\\]*+)*+'|([\w][\w$]*+)")
_FIRST_TOKEN = re.compile(r"'|[\w][\w$]*+|.")
_PARENS = re.compile(r"'[^'\\]*+(?:''[^'\\]*+)*+'|([()])")


@dataclass(frozen=True)
class Statement:
    """One statement of a script, as written, without its delimiter."""

    text: str
    line: int
    end_line: int
    index: int


class Token(NamedTuple):
    """A significant token: kind is word, ident, string, punct, term or opaque."""

    kind: str
    text: str
    start: int
    end: int

    @property
    def upper(self) -> str:
        """The token text upper-cased (keywords compare this way)."""
        return self.text.upper()


def normalize_dialect(dialect: str) -> str:
    """Return "postgresql", "mysql" or "sqlite" for a dialect name or alias."""
    name = _ALIASES.get(str(dialect).lower())
    if name is None:
        raise ValueError(f"unknown SQL dialect {dialect!r}; expected one of {DIALECTS}")
    return name


class _Lexer:
    """Yields (kind, start, end) for each significant token; skips comments."""

    def __init__(self, text: str, dialect: str) -> None:
        self.text = text
        self.dialect = dialect
        self.pos = 0
        self.delimiter = ";"

    def next(self) -> tuple[str, int, int] | None:
        """Return the next token, or None at the end of the text."""
        if self.delimiter == ";" and FAST_TOKENS:
            match = _PLAIN_TOKEN.match(self.text, self.pos)
            if match is not None:
                self.pos = match.end()
                group = match.lastindex
                return ("word" if group == 1 else "punct"), match.start(group), self.pos
        self._skip_trivia()
        if self.pos >= len(self.text):
            return None
        start = self.pos
        kind, self.pos = self._read(start)
        return kind, start, self.pos

    def _skip_trivia(self) -> None:
        text, n = self.text, len(self.text)
        while self.pos < n:
            i = self.pos
            if text[i] not in _TRIVIA_STARTS and not text[i].isspace():
                return
            match = _SPACE.match(text, i)
            if match:
                self.pos = match.end()
            elif self._line_comment_at(i):
                end = text.find("\n", i)
                self.pos = n if end < 0 else end + 1
            elif text.startswith("/*", i) and not self._executable_comment_at(i):
                self.pos = self._block_comment_end(i)
            else:
                return

    def _line_comment_at(self, i: int) -> bool:
        text = self.text
        if text.startswith("--", i):
            if self.dialect != "mysql":
                return True
            # MySQL needs whitespace (or the end) after "--": "1--1" is arithmetic.
            return i + 2 >= len(text) or text[i + 2] <= " "
        return text[i] == "#" and self.dialect == "mysql"

    def _executable_comment_at(self, i: int) -> bool:
        # MySQL runs /*! ... */ and MariaDB /*M! ... */: they are code, not comments.
        return self.dialect == "mysql" and self.text.startswith(("/*!", "/*M!"), i)

    def _block_comment_end(self, i: int) -> int:
        text, n = self.text, len(self.text)
        if self.dialect != "postgresql":
            end = text.find("*/", i + 2)
            return n if end < 0 else end + 2
        depth, k, close = 1, i + 2, -1
        while depth:
            if close < k:  # else the "*/" found last is still the first one from k
                close = text.find("*/", k)
                if close < 0:
                    return n
            opening = text.find("/*", k, close)
            if opening >= 0:
                depth, k = depth + 1, opening + 2
            else:
                depth, k = depth - 1, close + 2
        return k

    def _read(self, i: int) -> tuple[str, int]:
        text, c = self.text, self.text[i]
        if self.delimiter != ";" and text.startswith(self.delimiter, i):
            return "delim", i + len(self.delimiter)
        if c == ";":
            return ("term" if self.delimiter == ";" else "punct"), i + 1
        if c in "'\"`[$/":
            quoted = self._read_quoted(i, c)
            if quoted is not None:
                return quoted
        match = _WORD.match(text, i)
        if match is None:
            return "punct", i + 1
        end = self._word_end(i, match.end())
        if (
            self.dialect == "postgresql"
            and end == i + 1
            and c in "eE"
            and text.startswith("'", end)
        ):
            return "string", _quoted_end(text, end, "'", backslash=True)
        return "word", end

    def _word_end(self, i: int, end: int) -> int:
        if self.delimiter == ";":
            return end
        cut = self.text.find(self.delimiter, i + 1, end)
        return end if cut < 0 else cut

    def _read_quoted(self, i: int, c: str) -> tuple[str, int] | None:
        text, mysql = self.text, self.dialect == "mysql"
        if c == "'":
            return "string", _quoted_end(text, i, "'", backslash=mysql)
        if c == '"':
            return ("string" if mysql else "ident"), _quoted_end(text, i, '"', backslash=mysql)
        if c == "`" and self.dialect != "postgresql":
            return "ident", _quoted_end(text, i, "`", backslash=False)
        if c == "[" and self.dialect == "sqlite":
            end = text.find("]", i + 1)
            return "ident", len(text) if end < 0 else end + 1
        if c == "$" and self.dialect == "postgresql":
            return self._read_dollar(i)
        if c == "/" and self._executable_comment_at(i):
            end = text.find("*/", i + 3)
            return "opaque", len(text) if end < 0 else end + 2
        return None

    def _read_dollar(self, i: int) -> tuple[str, int] | None:
        match = _DOLLAR_TAG.match(self.text, i)
        if match is None:
            return None
        end = self.text.find(match.group(), match.end())
        return "string", len(self.text) if end < 0 else end + len(match.group())


def _quoted_end(text: str, i: int, quote: str, backslash: bool) -> int:
    """Index just past the literal opened at i; doubled quotes are escapes."""
    k = i + 1
    while True:
        j = text.find(quote, k)
        if j < 0:
            return len(text)
        if backslash and _backslash_escaped(text, k, j):
            k = j + 1
        elif text.startswith(quote, j + 1):
            k = j + 2
        else:
            return j + 1


def _backslash_escaped(text: str, low: int, j: int) -> bool:
    b = j
    while b > low and text[b - 1] == "\\":
        b -= 1
    return (j - b) % 2 == 1


class _Blocks:
    """Decides whether a semicolon ends the statement; this base: always."""

    active = False

    def plain(self) -> bool:
        """True when only parentheses (and the delimiter) still matter: words may be skipped."""
        return not self.active

    def feed(self, kind: str, value: str) -> None:
        """Account for one token of the current statement."""

    def complete(self) -> bool:
        """True when a semicolon here ends the statement."""
        return True


def _shape(kind: str, value: str) -> str:
    """A token as the block trackers remember it: literals collapse to "'"."""
    return value if kind in ("word", "punct", "term") else "'"


class _PgBlocks(_Blocks):
    """psql's rules: parentheses, and BEGIN ATOMIC bodies of SQL functions."""

    active = True

    def __init__(self) -> None:
        self.parens = 0
        self.head: list[str] = []
        self.routine: bool | None = None
        self.depth = 0

    def feed(self, kind: str, value: str) -> None:
        """Count parentheses; track BEGIN/CASE/END once the head says CREATE FUNCTION."""
        if kind == "punct":
            if value == "(":
                self.parens += 1
            elif value == ")" and self.parens:
                self.parens -= 1
        elif kind == "word":
            if self.routine is None:
                self.head.append(value)
                self.routine = _pg_routine_head(self.head)
            if self.routine and self.parens == 0:
                self._track(value)

    def _track(self, value: str) -> None:
        if value == "BEGIN" or value == "CASE" and self.depth:
            self.depth += 1
        elif value == "END" and self.depth:
            self.depth -= 1

    def plain(self) -> bool:
        """Once the head is known not to open a function, only parentheses count."""
        return self.routine is False

    def complete(self) -> bool:
        """True outside parentheses and outside a BEGIN ATOMIC body."""
        return self.parens == 0 and self.depth == 0


def _pg_routine_head(words: list[str]) -> bool | None:
    """CREATE [OR REPLACE] FUNCTION|PROCEDURE: True, False, or None (need more)."""
    pattern = ["CREATE", "OR", "REPLACE"] if len(words) > 1 and words[1] == "OR" else ["CREATE"]
    for i, word in enumerate(words):
        if i < len(pattern):
            if word != pattern[i]:
                return False
        else:
            return word in ("FUNCTION", "PROCEDURE")
    return None


_MY_ROUTINES = frozenset({"PROCEDURE", "FUNCTION", "TRIGGER", "EVENT"})
_MY_NOT_ROUTINES = frozenset(
    {"TABLE", "VIEW", "INDEX", "DATABASE", "SCHEMA", "USER", "ROLE", "SERVER", "TABLESPACE"}
)
_MY_END_WORDS = frozenset({"IF", "CASE", "LOOP", "WHILE", "REPEAT"})
_MY_CONTEXT_OPENERS = frozenset({"IF", "LOOP", "WHILE", "REPEAT"})
_MY_STATEMENT_STARTS = frozenset({";", "BEGIN", "THEN", "ELSE", "DO", "LOOP", "REPEAT", "ROW", ":"})
_MY_HEADER_ENDS = frozenset({")", "'", "DETERMINISTIC", "SQL", "DATA", "DEFINER", "INVOKER"})


class _MySqlBlocks(_Blocks):
    """Stored-program bodies: BEGIN ... END with IF/CASE/LOOP/WHILE/REPEAT.

    Known limit: a routine whose whole body is a bare IF/LOOP right after
    ``RETURNS <type>`` (no characteristic, no BEGIN) is not recognised.
    """

    active = True

    def __init__(self) -> None:
        self.pending: list[tuple[str, str]] = []
        self.routine: bool | None = None
        self.depth = 0
        self.swallow = False
        self.prev = self.prev2 = ""

    def feed(self, kind: str, value: str) -> None:
        """Classify the head, then track the body's nesting."""
        if self.routine is None:
            self.pending.append((kind, value))
            self.routine = _mysql_routine_head(self.pending)
            if self.routine:
                for item in self.pending:
                    self._track(*item)
            if self.routine is not None:
                self.active = bool(self.routine)
            return
        self._track(kind, value)

    def _track(self, kind: str, value: str) -> None:
        if kind == "word" and not (self.swallow and value in _MY_END_WORDS):
            if value == "END":
                self.depth = max(self.depth - 1, 0)
            elif value in ("BEGIN", "CASE") or (
                value in _MY_CONTEXT_OPENERS and self._statement_start()
            ):
                self.depth += 1
        self.swallow = kind == "word" and value == "END"
        self.prev2, self.prev = self.prev, _shape(kind, value)

    def _statement_start(self) -> bool:
        if self.prev in _MY_STATEMENT_STARTS or self.prev2 in ("FOLLOWS", "PRECEDES"):
            return True
        return self.depth == 0 and self.prev in _MY_HEADER_ENDS

    def complete(self) -> bool:
        """True unless inside a stored program's body."""
        return not self.routine or self.depth == 0


def _mysql_routine_head(tokens: list[tuple[str, str]]) -> bool | None:
    """Whether the statement opens a stored program; None until it is known."""
    values = [value for kind, value in tokens if kind in ("word", "punct")]
    if not values:
        return None
    if values[0] == "BEGIN":
        return None if len(values) < 3 else values[1:3] == ["NOT", "ATOMIC"]
    if values[0] not in ("CREATE", "ALTER"):
        return False
    last = values[-1]
    if last in _MY_ROUTINES:
        return True
    if last in _MY_NOT_ROUTINES or last in ("(", ";") or len(tokens) > 16:
        return False
    return None


class _SqliteBlocks(_Blocks):
    """sqlite3_complete(): CREATE [TEMP] TRIGGER ends at '; END ;' only."""

    active = True

    def __init__(self) -> None:
        self.head: list[str] = []
        self.trigger: bool | None = None
        self.prev = self.prev2 = ""

    def feed(self, kind: str, value: str) -> None:
        """Classify the head and remember the last two tokens."""
        if self.trigger is None and kind == "word":
            self.head.append(value)
            self.trigger = _sqlite_trigger_head(self.head)
            self.active = self.trigger is not False
        self.prev2, self.prev = self.prev, _shape(kind, value)

    def complete(self) -> bool:
        """True unless inside a trigger body not yet closed by '; END'."""
        return not self.trigger or (self.prev == "END" and self.prev2 == ";")


def _sqlite_trigger_head(words: list[str]) -> bool | None:
    if words[0] != "CREATE":
        return False
    if len(words) < 2:
        return None
    if words[1] in ("TEMP", "TEMPORARY"):
        return None if len(words) < 3 else words[2] == "TRIGGER"
    return words[1] == "TRIGGER"


_BLOCKS = {"postgresql": _PgBlocks, "mysql": _MySqlBlocks, "sqlite": _SqliteBlocks}


class _Splitter:
    """Walks the tokens once and cuts statements at complete delimiters."""

    def __init__(self, text: str, dialect: str, compound: bool) -> None:
        self.text = text
        self.dialect = dialect
        self.lexer = _Lexer(text, dialect)
        self.make_blocks = _BLOCKS[dialect] if compound else _Blocks
        # Statements are emitted in order: lines are counted on from the last offset asked.
        self._counted_to, self._line = 0, 1
        self.statements: list[Statement] = []

    def run(self) -> list[Statement]:
        """Return every non-empty statement of the text, in order."""
        start = end = -1
        blocks = self.make_blocks()
        fast = FAST_TOKENS
        while True:
            if start < 0 and fast and self.lexer.delimiter == ";" and self._whole_statement():
                continue
            token = self.lexer.next()
            if token is None:
                break
            kind, s, e = token
            if start < 0 and kind == "word" and self._delimiter_directive(s, e):
                continue
            if kind == "delim" or (kind == "term" and blocks.complete()):
                self._emit(start, end)
                start, blocks = -1, self.make_blocks()
                continue
            if start < 0:
                start = s
            end = e
            if blocks.active:
                blocks.feed(kind, self._value(kind, s, e))
            if FAST_TOKENS and self.lexer.delimiter == ";" and blocks.plain():
                end = self._skip_plain_run(end, blocks)
        self._emit(start, end)
        return self.statements

    def _whole_statement(self) -> bool:
        """Emit the next statement in one regex step when it is made of plain tokens only
        and its end is certain; False (nothing consumed but trivia) otherwise."""
        lexer, text = self.lexer, self.text
        lexer._skip_trivia()
        start = lexer.pos
        end = _FREE_RUN.match(text, start).end()
        if end == start:
            return False
        after = _TERMINATOR.match(text, end)
        if after is None or not self._ends_here(start, end):
            return False
        self._emit(start, end)
        lexer.pos = after.end()
        return True

    def _ends_here(self, start: int, end: int) -> bool:
        """Whether the block tracker would let the delimiter after text[start:end] end it."""
        text = self.text
        first = _FIRST_TOKEN.match(text, start).group().upper()
        if self.dialect == "mysql":
            if first == "DELIMITER":  # a client directive, handled by the general path
                return False
            compound = first in ("CREATE", "ALTER", "BEGIN") or first[:1] == "'"
            return self.make_blocks is _Blocks or not compound
        if self.make_blocks is _Blocks:
            return True
        if first[:1] == "'" or not (first[:1].isalnum() or first[:1] == "_"):
            words = [w for w in _HEAD_WORDS.findall(text, start, end) if w][:4]
            first = words[0].upper() if words else ""
        if first == "CREATE":
            if self.dialect == "sqlite":
                return False
            words = [w.upper() for w in _HEAD_WORDS.findall(text, start, end) if w][:4]
            if _pg_routine_head(words):
                return False
        if self.dialect == "sqlite" or text.find("(", start, end) < 0:
            return True
        parens = 0
        for paren in _PARENS.findall(text, start, end):
            if paren == "(":
                parens += 1
            elif paren == ")" and parens:
                parens -= 1
        return parens == 0

    def _skip_plain_run(self, end: int, blocks: _Blocks) -> int:
        """Jump over tokens nothing tracks but parentheses; the new end of the statement."""
        start = self.lexer.pos
        run = _FREE_RUN.match(self.text, start).end()
        if run == start:
            return end
        if isinstance(blocks, _PgBlocks):
            for paren in _PARENS.findall(self.text, start, run):
                if paren:
                    blocks.feed("punct", paren)
        self.lexer.pos = run
        return run

    def _value(self, kind: str, s: int, e: int) -> str:
        if kind == "word":
            return self.text[s:e].upper()
        return ";" if kind == "term" else self.text[s:e]

    def _delimiter_directive(self, s: int, e: int) -> bool:
        """Handle a mysql-client ``DELIMITER x`` line; True when it was one."""
        text = self.text
        if self.dialect != "mysql" or text[s:e].upper() != "DELIMITER":
            return False
        if not _at_line_start(text, s) or (e < len(text) and text[e] not in " \t\r\n"):
            return False
        eol = text.find("\n", e)
        eol = len(text) if eol < 0 else eol
        argument = text[e:eol].split()
        if argument:
            self.lexer.delimiter = argument[0]
        self.lexer.pos = eol
        return True

    def _emit(self, start: int, end: int) -> None:
        if start < 0:
            return
        self.statements.append(
            Statement(
                text=self.text[start:end],
                line=self._line_of(start),
                end_line=self._line_of(end - 1),
                index=len(self.statements),
            )
        )

    def _line_of(self, offset: int) -> int:
        """1-based line of offset (offsets come in order; an earlier one recounts)."""
        if offset < self._counted_to:
            self._counted_to, self._line = 0, 1
        self._line += self.text.count("\n", self._counted_to, offset)
        self._counted_to = offset
        return self._line


def _at_line_start(text: str, s: int) -> bool:
    """True when only whitespace separates offset s from the previous newline (or the start).

    Walks back over the whitespace only: looking for the newline itself would
    rescan a long line for every word on it.
    """
    k = s - 1
    while k >= 0 and text[k] != "\n" and text[k].isspace():
        k -= 1
    return k < 0 or text[k] == "\n"


def split_sql(script: str, dialect: str, *, compound: bool = True) -> list[Statement]:
    """Split script into statements as the engine's client would.

    Comments and blank lines before a statement are not part of it; comments
    inside it are kept. Empty statements (``;;``) are dropped. With
    ``compound=False`` every top-level semicolon ends a statement, which is
    what the safety checker wants inside a routine body.
    """
    dialect = normalize_dialect(dialect)
    text = script[1:] if script.startswith("\ufeff") else script
    return _Splitter(text, dialect, compound).run()


def split_plain_texts(script: str, dialect: str) -> list[str] | None:
    """The statement texts split_sql(script, dialect, compound=False) would give, when the
    script is made of plain tokens only (words, punctuation, '...' strings without
    backslashes) and is PostgreSQL; None otherwise (use split_sql).

    A routine body of 24,000 small statements per MB spent a third of its check
    cutting them one by one; with nothing in it but plain tokens, every semicolon
    outside a string ends a statement, and one regex pass finds them all.
    """
    if not FAST_TOKENS or normalize_dialect(dialect) != "postgresql" or script[:1] == "\ufeff":
        return None
    if _PLAIN_SCRIPT.fullmatch(script) is None:
        return None
    return [text for piece in _PLAIN_PIECE.findall(script) if (text := piece.strip())]


def tokenize(text: str, dialect: str, limit: int | None = None) -> list[Token]:
    """Significant tokens of text (comments dropped), in order; at most limit."""
    lexer = _Lexer(text, normalize_dialect(dialect))
    tokens: list[Token] = []
    plain = _PLAIN_TOKEN.match if FAST_TOKENS else None
    while limit is None or len(tokens) < limit:
        match = plain(text, lexer.pos) if plain is not None else None
        if match is not None:  # lexer.next() inlined for the common tokens
            group = match.lastindex
            start, lexer.pos = match.start(group), match.end()
            kind = "word" if group == 1 else "punct"
            tokens.append(Token(kind, text[start : lexer.pos], start, lexer.pos))
            continue
        token = lexer.next()
        if token is None:
            break
        kind, start, end = token
        tokens.append(Token(kind, text[start:end], start, end))
    return tokens


def is_comment_only(text: str, dialect: str = "postgresql") -> bool:
    """True when text holds nothing but whitespace, comments and semicolons."""
    return not split_sql(text, dialect)


def leading_words(text: str, dialect: str, limit: int = 32) -> list[str]:
    """The first words and punctuation of text, upper-cased; strings left out.

    Quoted identifiers keep their quotes, so ``"TABLE"`` never reads as a keyword.
    """
    words = []
    for token in tokenize(text, dialect, limit):
        if token.kind in ("word", "punct"):
            words.append(token.upper)
        elif token.kind == "ident":
            words.append(token.text)
    return words
