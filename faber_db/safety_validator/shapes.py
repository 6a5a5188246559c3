"""The five commonest small DDL statements of an ORM's migration, each read by one regex.

The token grammar (fastpath.py) costs ~20 µs of Python per statement: it lists
the tokens, upper-cases them and walks them one call at a time. Most of a first
migration is four shapes that one compiled regex can read whole:

* ``CREATE [UNIQUE] INDEX name ON table (column [ASC|DESC], ...)``;
* ``ALTER TABLE table ADD CONSTRAINT name FOREIGN KEY (...) REFERENCES t [(...)] [ON ...]``
  (PostgreSQL, MySQL);
* ``ALTER TABLE table ADD [COLUMN] column type[(n[, m])] [DEFAULT literal] [[NOT] NULL]``;
* ``COMMENT ON TABLE|COLUMN name IS 'text'`` (PostgreSQL);
* ``CREATE TABLE name (columns and table constraints)``, read one element at a
  time (one regex over the whole of it, with every name position guarded against
  keywords, compiled in 50 ms: more than it saved on a first migration).

A shape only answers when it is sure to answer as the token grammar would: the
names are then checked as the grammar checks them (no keyword as a plain name),
and anything else (a keyword name, an unknown type, NOT NULL without DEFAULT,
an old server's DEFAULT, ...) returns None and goes to the token grammar, which
may still take it or hand it to sqlglot. tests/unit/safety_validator/
test_safety_fastpath.py requires both to give the same answer.
"""

from __future__ import annotations

import re
from functools import cache

from faber_db.safety_validator.fastpath import (
    _DIALECT_TYPES,
    _IDENT,
    _NUMBER,
    _SERIAL,
    _SIZED,
    _STRING,
    _TYPES,
    _WORD,
    _keywords,
    fast_unit,
)
from faber_db.safety_validator.rules.base import RuleContext
from faber_db.safety_validator.rules.constraints import foreign_key_hit
from faber_db.safety_validator.rules.indexes import non_concurrent_index_hit, unique_index_hit
from faber_db.safety_validator.script_rules import Analysed, Facts
from faber_db.safety_validator.sqlnames import fold

_END = r"(?![\w$])"
_ACTION = rf"(?:CASCADE|RESTRICT|NO\s++ACTION|SET\s++(?:NULL|DEFAULT)){_END}"
_LITERAL = rf"(?:{_NUMBER}|{_STRING}|(?:TRUE|FALSE|NULL|CURRENT_TIMESTAMP|CURRENT_DATE){_END})"


@cache
def _patterns(dialect: str) -> dict[str, re.Pattern]:
    """The compiled shapes and the name pattern, for one dialect."""
    part = f"(?:{_WORD}|{_IDENT.get(dialect, _IDENT['postgresql'])})"
    name = rf"{part}(?:\s*+\.\s*+{part}){{0,2}}"
    column_name = rf"{part}(?:\s*+\.\s*+{part}){{0,3}}"
    names = rf"{part}(?:\s*+,\s*+{part})*+"
    ordered = rf"{part}(?:\s++(?:ASC|DESC){_END})?+"
    shapes = {
        "index": rf"CREATE\s++(UNIQUE\s++)?+INDEX\s++({part})\s++ON\s++({name})\s*+"
        rf"\(\s*+({ordered}(?:\s*+,\s*+{ordered})*+)\s*+\)\s*+",
        "foreign_key": rf"ALTER\s++TABLE\s++({name})\s++ADD\s++CONSTRAINT\s++({part})\s++"
        rf"FOREIGN\s++KEY\s*+\(\s*+({names})\s*+\)\s*+REFERENCES\s++({name})"
        rf"(?:\s*+\(\s*+({names})\s*+\))?+(?:\s++ON\s++(?:DELETE|UPDATE)\s++{_ACTION})*+\s*+",
        "add_column": rf"ALTER\s++TABLE\s++({name})\s++ADD\s++(?:COLUMN{_END}\s*+)?+({part})\s++"
        rf"({_WORD})(\s*+\(\s*+\d++\s*+(?:,\s*+\d++\s*+)?+\))?+"
        rf"((?:\s++(?:NOT\s++NULL{_END}|NULL{_END}|DEFAULT\s++{_LITERAL}))*+)\s*+",
        "comment": rf"COMMENT\s++ON\s++(?:TABLE\s++({name})|COLUMN\s++({column_name}))\s++IS\s++"
        rf"{_STRING}\s*+",
    }

    def references(capture: bool) -> str:
        group = "(" if capture else "(?:"
        return (
            rf"REFERENCES\s++{group}{name})(?:\s*+\(\s*+{group}{names})\s*+\))?+"
            rf"(?:\s++ON\s++(?:DELETE|UPDATE)\s++{_ACTION})*+"
        )

    listed = rf"\s*+\(\s*+({names})\s*+\)"
    shapes["table_head"] = rf"CREATE\s++TABLE\s++({name})\s*+\(\s*+"
    shapes["table_column"] = (
        rf"({part})\s++({_WORD})(\s*+\(\s*+\d++\s*+(?:,\s*+\d++\s*+)?+\))?+"
        rf"((?:\s++(?:NOT\s++NULL{_END}|NULL{_END}|DEFAULT\s++{_LITERAL}|PRIMARY\s++KEY{_END}"
        rf"|UNIQUE{_END}|{references(capture=False)}))*+)"
    )
    shapes["table_constraint"] = (
        rf"(?:CONSTRAINT\s++({part})\s++)?+(?:(?:PRIMARY\s++KEY|UNIQUE){listed}"
        rf"|FOREIGN\s++KEY{listed}\s*+{references(capture=True)})"
    )
    shapes["references"] = references(capture=True)
    shapes["first_word"] = r"[A-Z_]++"
    shapes["table_next"] = r"\s*+(?:(,)\s*+|\)\s*+\Z)"
    compiled = {key: re.compile(value, re.IGNORECASE) for key, value in shapes.items()}
    compiled["part"] = re.compile(part)
    compiled["ordered"] = re.compile(rf"({part})(?:\s++(?:ASC|DESC){_END})?+")
    return compiled


class _Refused(Exception):
    """A name the token grammar would not take as a name (a keyword)."""


def quick_unit(index: int, text: str, ctx: RuleContext) -> Analysed | None:
    """The analysed statement from a shape, else from the token grammar; None for sqlglot."""
    unit = shape_unit(index, text, ctx)
    return unit if unit is not None else fast_unit(index, text, ctx)


def shape_unit(index: int, text: str, ctx: RuleContext) -> Analysed | None:
    """The analysed statement when one of the shapes reads text whole; else None."""
    head = text[:6].upper()
    try:
        if head == "CREATE":
            return _index(index, text, ctx) or _create_table(index, text, ctx)
        if head == "ALTER ":
            return _foreign_key(index, text, ctx) or _add_column(index, text, ctx)
        if head == "COMMEN" and ctx.dialect == "postgresql":
            return _comment(index, text, ctx)
    except _Refused:
        return None
    return None


def _index(index: int, text: str, ctx: RuleContext) -> Analysed | None:
    shapes = _patterns(ctx.dialect)
    match = shapes["index"].fullmatch(text)
    if match is None:
        return None
    unique, raw_name, raw_table, raw_columns = match.groups()
    name, table = _part(raw_name, ctx.dialect), _name(raw_table, ctx.dialect)
    columns = tuple(_part(m.group(1), ctx.dialect) for m in shapes["ordered"].finditer(raw_columns))
    hits = []
    if ctx.dialect == "postgresql":
        hits.append(non_concurrent_index_hit(name, table, columns))
    if unique:
        hits.append(unique_index_hit(name, table, columns))
    return Analysed(index, text, None, hits, "ddl", facts=Facts())


def _foreign_key(index: int, text: str, ctx: RuleContext) -> Analysed | None:
    if ctx.dialect not in ("postgresql", "mysql"):
        return None
    match = _patterns(ctx.dialect)["foreign_key"].fullmatch(text)
    if match is None:
        return None
    raw_table, raw_name, raw_columns, raw_target, raw_target_columns = match.groups()
    table, name = _name(raw_table, ctx.dialect), _part(raw_name, ctx.dialect)
    columns = _names(raw_columns, ctx.dialect)
    _name(raw_target, ctx.dialect)
    if raw_target_columns is not None:
        _names(raw_target_columns, ctx.dialect)
    hits = [foreign_key_hit(table, name, columns, ctx)]
    return Analysed(index, text, None, hits, "ddl", facts=Facts())


def _add_column(index: int, text: str, ctx: RuleContext) -> Analysed | None:
    match = _patterns(ctx.dialect)["add_column"].fullmatch(text)
    if match is None:
        return None
    raw_table, raw_column, type_word, size, options = match.groups()
    dtype = type_word.upper()
    if dtype not in _TYPES and dtype not in _DIALECT_TYPES.get(ctx.dialect, ()):
        return None  # serial types fill every row; unknown types go to sqlglot
    if size is not None and dtype not in _SIZED:
        return None
    options = options.upper()
    default = "DEFAULT" in options
    if default and ctx.version_below(11):
        return None
    if "NOT" in options and not default:
        return None
    _name(raw_table, ctx.dialect)
    _part(raw_column, ctx.dialect)
    return Analysed(index, text, None, [], "ddl", facts=Facts(deferred=ctx.dialect))


def _comment(index: int, text: str, ctx: RuleContext) -> Analysed | None:
    match = _patterns(ctx.dialect)["comment"].fullmatch(text)
    if match is None:
        return None
    table, column = match.groups()
    _name(table if table is not None else column, ctx.dialect)
    return Analysed(index, text, None, [], "other", facts=Facts())


_CONSTRAINT_WORDS = frozenset({"CONSTRAINT", "PRIMARY", "UNIQUE", "FOREIGN"})


def _create_table(index: int, text: str, ctx: RuleContext) -> Analysed | None:
    shapes, dialect = _patterns(ctx.dialect), ctx.dialect
    match = shapes["table_head"].match(text)
    if match is None:
        return None
    table = _name(match.group(1), dialect)
    pos = match.end()
    while True:
        word = shapes["first_word"].match(text, pos)
        if word is not None and word.group().upper() in _CONSTRAINT_WORDS:
            element = shapes["table_constraint"].match(text, pos)
            if element is None:
                return None
            _table_constraint(element, dialect)
        else:
            element = shapes["table_column"].match(text, pos)
            if element is None or not _table_column(element, dialect):
                return None
        following = shapes["table_next"].match(text, element.end())
        if following is None:
            return None
        if following.group(1) is None:
            break
        pos = following.end()
    return Analysed(index, text, None, [], "ddl", facts=Facts(created=table, deferred=dialect))


def _table_column(element: re.Match, dialect: str) -> bool:
    """Check a column definition's names as the token grammar does; False: not its type."""
    raw_name, type_word, size, options = element.groups()
    dtype = type_word.upper()
    known = dtype in _TYPES or dtype in _DIALECT_TYPES.get(dialect, ())
    if not known and (dtype not in _SERIAL or dialect != "postgresql"):
        return False
    if size is not None and dtype not in _SIZED:
        return False
    _part(raw_name, dialect)
    if options and "REFERENCES" in options.upper():
        if dialect == "mysql":
            return False
        for reference in _patterns(dialect)["references"].finditer(options):
            _reference_names(reference, dialect)
    return True


def _table_constraint(element: re.Match, dialect: str) -> None:
    name, listed, foreign, target, target_columns = element.groups()
    if name is not None:
        _part(name, dialect)
    _names(listed if listed is not None else foreign, dialect)
    if target is not None:
        _name(target, dialect)
        if target_columns is not None:
            _names(target_columns, dialect)


def _reference_names(reference: re.Match, dialect: str) -> None:
    target, columns = reference.groups()
    _name(target, dialect)
    if columns is not None:
        _names(columns, dialect)


def _part(raw: str, dialect: str) -> str:
    """One name part as the token grammar reads it: quoted as written, plain folded."""
    head = raw[:1]
    if head == '"' or head == "`":
        return raw[1:-1].replace(head * 2, head)
    if raw.upper() in _keywords(dialect):
        raise _Refused
    return fold(raw, False, dialect)


def _name(raw: str, dialect: str) -> str:
    """A dotted name, each part read by _part, joined by dots."""
    parts = _patterns(dialect)["part"].findall(raw)
    return ".".join(_part(part, dialect) for part in parts)


def _names(raw: str, dialect: str) -> tuple[str, ...]:
    return tuple(_part(part, dialect) for part in _patterns(dialect)["part"].findall(raw))
