"""Object names as the engine resolves them, from sqlglot nodes or raw tokens.

PostgreSQL folds unquoted identifiers to lower case, so ``DROP TABLE Users``
and ``DROP TABLE users`` name the same table; MySQL and SQLite names are kept
as written. Qualified names are joined with dots, unquoted: "public.users".
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from faber_db.sql.split import Token

_CLOSING = {'"': '"', "`": "`", "[": "]"}


def fold(name: str, quoted: bool, dialect: str) -> str:
    """The identifier as the engine stores it."""
    return name.lower() if dialect == "postgresql" and not quoted else name


def identifier_name(node: Any, dialect: str) -> str:
    """Name of an Identifier, Column or Table node (last part only), or a str."""
    if isinstance(node, (exp.Column, exp.Table)):
        node = node.this
    if node is None:
        return ""
    if isinstance(node, str):
        return node
    if isinstance(node, exp.Identifier):
        return fold(node.this, bool(node.args.get("quoted")), dialect)
    if isinstance(node, exp.Literal):
        return str(node.this)
    return node.sql() if isinstance(node, exp.Expression) else str(node)


def table_name(table: Any, dialect: str) -> str:
    """A Table node's name, qualified as written: "schema.table"."""
    if table is None:
        return ""
    if isinstance(table, exp.Schema):
        table = table.this
    if not isinstance(table, exp.Table):
        return identifier_name(table, dialect)
    parts = [table.args.get("catalog"), table.args.get("db"), table.this]
    return ".".join(identifier_name(part, dialect) for part in parts if part is not None)


def token_name(token: Token, dialect: str) -> str:
    """One identifier token unquoted ("a""b" -> a"b) and folded."""
    text = token.text
    if token.kind == "ident" and text[:1] in _CLOSING:
        close = _CLOSING[text[0]]
        inner = text[1:-1] if text.endswith(close) and len(text) > 1 else text[1:]
        return inner.replace(close * 2, close) if close != "]" else inner
    return fold(text, False, dialect)


def same_table(a: str | None, b: str | None) -> bool:
    """True when two names can denote one table (an unqualified name matches any schema)."""
    if not a or not b:
        return False
    if a == b:
        return True
    if "." in a and "." in b:
        return False
    return a.rsplit(".", 1)[-1] == b.rsplit(".", 1)[-1]


def column_object(table: str, column: str) -> str:
    """The object string of a column: "table.column"."""
    return f"{table}.{column}" if table else column
