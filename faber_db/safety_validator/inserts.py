"""``INSERT INTO t [(columns)] VALUES ...`` of plain values, recognised without sqlglot.

Such a statement is data, not schema: no rule fires on it, and all the script
rules need is the table it writes. sqlglot spends ~0.5 ms per kilobyte on it
(more on long ones), which made a migration of seed data take minutes; the
splitter's tokens answer in a fraction of that. Anything that could hide
another statement or a query (SELECT, DELETE, UPDATE, WITH, ``ON DUPLICATE
KEY UPDATE``, MySQL executable comments) goes to sqlglot as before.
"""

from __future__ import annotations

import re

from faber_db.safety_validator.sqlnames import token_name
from faber_db.sql.split import Token, tokenize

_HEAD_TOKENS = 4096
_RISKY_WORDS = frozenset({"SELECT", "DELETE", "UPDATE", "WITH"})
_RISKY_TEXT = re.compile(r"\b(?:SELECT|DELETE|UPDATE|WITH)\b|/\*M?!|;", re.IGNORECASE)


def plain_insert_target(text: str, dialect: str) -> str | None:
    """The table a plain INSERT ... VALUES writes ("schema.table"), else None."""
    if text[:6].upper() != "INSERT":
        return None
    tokens = tokenize(text, dialect, limit=_HEAD_TOKENS)
    found = _head(tokens, dialect)
    if found is None:
        return None
    name, values_at = found
    if len(tokens) < _HEAD_TOKENS:
        return None if _risky(tokens[values_at:]) else name
    rest = tokens[values_at].end
    if _RISKY_TEXT.search(text, rest) and _risky(tokenize(text[rest:], dialect)):
        return None
    return name


def _head(tokens: list[Token], dialect: str) -> tuple[str, int] | None:
    """(table, index of VALUES) for ``INSERT INTO name [(col, ...)] VALUES``."""
    if len(tokens) < 4 or [t.text.upper() for t in tokens[:2]] != ["INSERT", "INTO"]:
        return None
    parts, i = [], 2
    while i < len(tokens) and tokens[i].kind in ("word", "ident"):
        parts.append(token_name(tokens[i], dialect))
        if i + 1 < len(tokens) and tokens[i + 1].text == ".":
            i += 2
        else:
            i += 1
            break
    if not parts or i >= len(tokens):
        return None
    if tokens[i].text == "(":
        i += 1
        while i < len(tokens) and (tokens[i].kind in ("word", "ident") or tokens[i].text == ","):
            i += 1
        if i >= len(tokens) or tokens[i].text != ")":
            return None
        i += 1
    if i >= len(tokens) or tokens[i].kind != "word" or tokens[i].text.upper() != "VALUES":
        return None
    return ".".join(parts), i


def _risky(tokens: list[Token]) -> bool:
    for token in tokens:
        if token.kind in ("opaque", "term", "delim"):
            return True
        if token.kind == "word" and token.text.upper() in _RISKY_WORDS:
            return True
    return False
