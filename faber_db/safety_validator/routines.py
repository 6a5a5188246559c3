"""Statements inside procedural code: DO blocks, functions, procedures, triggers.

``routine_of`` recognises a statement that carries a body (PostgreSQL ``DO``
and ``CREATE FUNCTION/PROCEDURE``, MySQL ``CREATE PROCEDURE/FUNCTION/TRIGGER/
EVENT`` and ``BEGIN NOT ATOMIC``, SQLite ``CREATE TRIGGER``) and extracts the
body. ``body_statements`` cuts the body at every semicolon and peels the
control flow (IF ... THEN, LOOP, BEGIN, EXCEPTION WHEN ... THEN, labels,
declarations) off each piece, leaving the SQL statements the body runs.
Dynamic SQL (EXECUTE, PREPARE) is reported as such: its text is not known.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from faber_db.sql import split as sqlsplit
from faber_db.sql.split import Token, split_plain_texts, split_sql, tokenize


@dataclass(frozen=True)
class Routine:
    """A statement with a procedural body. kind: do, function, procedure, trigger, event, block."""

    kind: str
    name: str
    body: str | None  # None when the body is in a language we cannot read
    language: str


@dataclass(frozen=True)
class InnerStatement:
    """A statement found in a body; dynamic is True for EXECUTE/PREPARE of a string."""

    text: str
    dynamic: bool = False


def routine_of(text: str, dialect: str) -> Routine | None:
    """The routine a statement defines or runs, or None for ordinary statements."""
    if not _may_be_routine(_words(tokenize(text, dialect, limit=12))):
        return None
    tokens = tokenize(text, dialect)
    words = _words(tokens)
    if dialect == "postgresql":
        return _pg_routine(text, tokens, words)
    if dialect == "mysql":
        return _mysql_routine(text, tokens, words)
    return _sqlite_trigger(text, tokens, words)


def _words(tokens: list[Token]) -> list[str]:
    return [t.text.upper() if t.kind == "word" else t.text for t in tokens]


def _may_be_routine(head: list[str]) -> bool:
    """Cheap test on the first words, so ordinary statements are tokenized once only."""
    if head[:1] == ["DO"] or head[:3] == ["BEGIN", "NOT", "ATOMIC"]:
        return True
    kinds = ("FUNCTION", "PROCEDURE", "TRIGGER", "EVENT")
    return head[:1] in (["CREATE"], ["ALTER"]) and any(word in kinds for word in head)


def _name_after(tokens: list[Token], words: list[str], keyword: str) -> str:
    """The name following keyword, past MariaDB's IF NOT EXISTS."""
    i = words.index(keyword) + 1
    if words[i : i + 3] == ["IF", "NOT", "EXISTS"]:
        i += 3
    return tokens[i].text if i < len(tokens) else ""


def _pg_routine(text: str, tokens: list[Token], words: list[str]) -> Routine | None:
    if words[:1] == ["DO"]:
        language = _word_after(words, "LANGUAGE") or "plpgsql"
        body = next((_string_body(t) for t in tokens[1:] if t.kind == "string"), None)
        return Routine("do", "", body if language in ("plpgsql", "sql") else None, language)
    head = words[3:4] if words[1:3] == ["OR", "REPLACE"] else words[1:2]
    if words[:1] != ["CREATE"] or head not in (["FUNCTION"], ["PROCEDURE"]):
        return None
    name = _name_after(tokens, words, head[0])
    language = _word_after(words, "LANGUAGE") or "sql"
    if "ATOMIC" in words and "BEGIN" in words:
        return Routine(head[0].lower(), name, _between(text, tokens, words, "ATOMIC"), "sql")
    body = _as_string(tokens, words)
    readable = language in ("plpgsql", "sql")
    return Routine(head[0].lower(), name, body if readable else None, language)


def _word_after(words: list[str], keyword: str) -> str | None:
    if keyword in words[:-1]:
        value = words[words.index(keyword) + 1]
        return value.strip("'\"").lower()
    return None


def _as_string(tokens: list[Token], words: list[str]) -> str | None:
    for i, word in enumerate(words[:-1]):
        if word == "AS" and tokens[i + 1].kind == "string":
            return _string_body(tokens[i + 1])
    return None


def _string_body(token: Token) -> str:
    """The content of a string literal: dollar-quoted, or single-quoted with '' escapes."""
    text = token.text
    if text.startswith("$"):
        tag_end = text.index("$", 1) + 1
        return text[tag_end : len(text) - tag_end]
    if text[:1] in "eE":
        text = text[1:]
    return text[1:-1].replace("''", "'")


def _between(text: str, tokens: list[Token], words: list[str], opener: str) -> str:
    """Text after the first ``opener`` word up to the statement's final END."""
    start = tokens[words.index(opener)].end
    ends = [i for i, word in enumerate(words) if word == "END"]
    end = tokens[ends[-1]].start if ends else len(text)
    return text[start:end]


_MYSQL_KINDS = ("PROCEDURE", "FUNCTION", "TRIGGER", "EVENT")


def _mysql_routine(text: str, tokens: list[Token], words: list[str]) -> Routine | None:
    if words[:3] == ["BEGIN", "NOT", "ATOMIC"]:
        return Routine("block", "", _between(text, tokens, words, "ATOMIC"), "mysql")
    if words[:1] not in (["CREATE"], ["ALTER"]):
        return None
    kind = next((w for w in words[1:12] if w in _MYSQL_KINDS), None)
    if kind is None or any(w in ("TABLE", "VIEW", "INDEX") for w in words[1 : words.index(kind)]):
        return None
    name = _name_after(tokens, words, kind)
    if "BEGIN" in words:
        return Routine(kind.lower(), name, _between(text, tokens, words, "BEGIN"), "mysql")
    return Routine(kind.lower(), name, _single_body(text, tokens, words, kind), "mysql")


_CHARACTERISTICS = {"COMMENT", "LANGUAGE", "SQL", "NOT", "DETERMINISTIC", "CONTAINS", "NO"}
_CHARACTERISTICS |= {"READS", "MODIFIES", "DATA", "SECURITY", "DEFINER", "INVOKER"}


def _single_body(text: str, tokens: list[Token], words: list[str], kind: str) -> str:
    """A body without BEGIN: after FOR EACH ROW (trigger), DO (event), or a procedure's header.

    A function without BEGIN is ``RETURN expr``: nothing to analyse.
    """
    i = _body_start(tokens, words, kind)
    return text[tokens[i].start :] if i is not None and i < len(tokens) else ""


def _body_start(tokens: list[Token], words: list[str], kind: str) -> int | None:
    marker = {"TRIGGER": "ROW", "EVENT": "DO"}.get(kind)
    if marker in words:
        i = words.index(marker) + 1
        return i + 2 if words[i : i + 1] in (["FOLLOWS"], ["PRECEDES"]) else i
    if kind != "PROCEDURE" or "(" not in words:
        return None
    i, depth = words.index("("), 0
    while i < len(words):
        depth += {"(": 1, ")": -1}.get(words[i], 0)
        i += 1
        if depth == 0:
            break
    while i < len(tokens) and (words[i] in _CHARACTERISTICS or tokens[i].kind == "string"):
        i += 1
    return i


def _sqlite_trigger(text: str, tokens: list[Token], words: list[str]) -> Routine | None:
    head = words[2:3] if words[1:2] in (["TEMP"], ["TEMPORARY"]) else words[1:2]
    if words[:1] != ["CREATE"] or head != ["TRIGGER"] or "BEGIN" not in words:
        return None
    name = tokens[words.index("TRIGGER") + 1].text
    return Routine("trigger", name, _between(text, tokens, words, "BEGIN"), "sqlite")


# --- peeling control flow -------------------------------------------------------------

_SKIP_STATEMENTS = {
    "RAISE", "RETURN", "PERFORM", "NULL", "GET", "EXIT", "CONTINUE", "OPEN", "FETCH",
    "CLOSE", "MOVE", "ASSERT", "LEAVE", "ITERATE", "SIGNAL", "RESIGNAL", "DEALLOCATE",
    "UNTIL", "END", "CALL", "SET", "DECLARE", "EXECUTE",
}  # fmt: skip
_THROUGH = {"IF": "THEN", "ELSIF": "THEN", "ELSEIF": "THEN", "WHEN": "THEN", "CASE": "THEN"}
_PG_LOOPS = {"FOR": "LOOP", "FOREACH": "LOOP", "WHILE": "LOOP"}
_MYSQL_LOOPS = {"WHILE": "DO"}
_SINGLE = {"BEGIN", "ELSE", "LOOP", "REPEAT", "EXCEPTION", "ATOMIC"}
# The statement that runs a string as SQL (MySQL's EXECUTE runs what PREPARE read).
_DYNAMIC = {"postgresql": "EXECUTE", "mysql": "PREPARE", "sqlite": ""}


# A piece made only of words, one-character punctuation and plain '...' strings is
# read with one regex (as sqlsplit.tokenize would read it); others go through tokenize.
_PIECE_TOKEN = r"\w++(?!')|'[^'\\]*+(?:''[^'\\]*+)*+'|[(),.=<>+*:!%^&|~?@{}\]]"
_PIECE_FULL = re.compile(rf"(?:\s*+(?:{_PIECE_TOKEN}))*+\s*+")
_PIECE_TOKENS = re.compile(rf"(\s*+)({_PIECE_TOKEN})")


def body_statements(body: str, dialect: str) -> list[InnerStatement]:
    """The SQL statements a procedural body runs, with control flow peeled off."""
    found: list[InnerStatement] = []
    declaring = False
    pieces = split_plain_texts(body, dialect)
    if pieces is None:
        pieces = [piece.text for piece in split_sql(body, dialect, compound=False)]
    for text in pieces:
        if sqlsplit.FAST_TOKENS and _PIECE_FULL.fullmatch(text):
            statement, declaring = _simple_piece(text, dialect, declaring)
        else:
            tokens = tokenize(text, dialect)
            words = [t.text.upper() if t.kind == "word" else t.text for t in tokens]
            start, declaring = _peel(words, dialect, declaring)
            statement = None if start is None else _leaf(text, tokens, start, dialect)
        if statement is not None:
            found.append(statement)
    return found


def _simple_piece(text: str, dialect: str, declaring: bool) -> tuple[InnerStatement | None, bool]:
    """_peel and _leaf on a piece of plain tokens, without building Token objects."""
    pairs = _PIECE_TOKENS.findall(text)
    words = [token.upper() if token[0] != "'" else token for _, token in pairs]
    start, declaring = _peel(words, dialect, declaring)
    if start is None:
        return None, declaring
    offset = sum(len(space) + len(token) for space, token in pairs[:start])
    offset += len(pairs[start][0])
    head = words[start] if _word(pairs[start][1]) else ""
    if head == _DYNAMIC.get(dialect, "EXECUTE"):
        return InnerStatement(text[offset:], dynamic=True), declaring
    if head in _SKIP_STATEMENTS or _plain_assignment([token for _, token in pairs], start):
        return None, declaring
    return InnerStatement(text[offset:]), declaring


def _plain_assignment(tokens: list[str], start: int) -> bool:
    """_assignment on plain tokens (words start with a word character)."""
    k = start
    while k + 2 < len(tokens) and tokens[k][0] != "'" and _word(tokens[k]) and tokens[k + 1] == ".":
        k += 2
    if k >= len(tokens) or not _word(tokens[k]):
        return False
    following = tokens[k + 1 : k + 3]
    return following[:1] == ["="] or following == [":", "="]


def _word(token: str) -> bool:
    return token[0].isalnum() or token[0] == "_"


def _peel(words: list[str], dialect: str, declaring: bool) -> tuple[int | None, bool]:
    """Index of the first token of the real statement in a piece (None: nothing to run)."""
    i = 0
    loops = _PG_LOOPS if dialect == "postgresql" else _MYSQL_LOOPS
    while i < len(words):
        word = words[i]
        if declaring or (word == "DECLARE" and dialect == "postgresql"):
            begin = _index(words, "BEGIN", i)
            if begin is None:
                return None, True
            i, declaring = begin + 1, False
        elif word == "DECLARE":
            i = _after_handler(words, i)
            if i is None:
                return None, False
        elif word in _SINGLE or (word == "NOT" and words[i + 1 : i + 2] == ["ATOMIC"]):
            i += 1
        elif word in _THROUGH or word in loops:
            closer = _index(words, _THROUGH.get(word) or loops[word], i)
            if closer is None:
                return None, False
            i = closer + 1
        elif _is_label(words, i):
            i += 5 if word == "<" else 2
        else:
            return i, False
    return None, declaring


def _index(words: list[str], word: str, start: int) -> int | None:
    """Position of word from start on, or None (without copying the rest of the list)."""
    try:
        return words.index(word, start)
    except ValueError:
        return None


def _is_label(words: list[str], i: int) -> bool:
    if words[i : i + 2] == ["<", "<"]:
        return words[i + 3 : i + 5] == [">", ">"]
    return words[i + 1 : i + 2] == [":"] and words[i + 2 : i + 3] != ["="]


def _after_handler(words: list[str], i: int) -> int | None:
    """MySQL DECLARE: a handler's statement starts after its condition list."""
    handler = _index(words, "HANDLER", i)
    if handler is None:
        return None
    k = handler + 2
    while k < len(words):
        if words[k : k + 2] == ["NOT", "FOUND"]:
            k += 2
        elif words[k] == "SQLSTATE":
            k += 3 if words[k + 1 : k + 2] == ["VALUE"] else 2
        else:
            k += 1  # SQLEXCEPTION, SQLWARNING, an error number or a condition name
        if words[k : k + 1] != [","]:
            return k
        k += 1
    return k


def _leaf(text: str, tokens: list[Token], start: int, dialect: str) -> InnerStatement | None:
    head = tokens[start].text.upper() if tokens[start].kind == "word" else ""
    if head == _DYNAMIC.get(dialect, "EXECUTE"):
        return InnerStatement(text[tokens[start].start :], dynamic=True)
    if head in _SKIP_STATEMENTS or _assignment(tokens, start):
        return None
    return InnerStatement(text[tokens[start].start :])


def _assignment(tokens: list[Token], start: int) -> bool:
    """PL/pgSQL ``x := ...`` / ``x = ...`` and ``rec.field := ...``."""
    k = start
    while k + 2 < len(tokens) and tokens[k].kind in ("word", "ident") and tokens[k + 1].text == ".":
        k += 2
    if k >= len(tokens) or tokens[k].kind not in ("word", "ident"):
        return False
    following = [t.text for t in tokens[k + 1 : k + 3]]
    return following[:1] == ["="] or following == [":", "="]
