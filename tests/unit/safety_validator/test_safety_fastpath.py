"""The fast path (safety/fastpath.py) finds exactly what sqlglot's path finds.

Generated statements, inside and outside the fast path's grammar (and mutated
copies of them), go through the analyzer with the fast path on and off; the
hits, category and facts of every statement, and the findings of whole
scripts, must be identical.
"""

from __future__ import annotations

import random

import pytest

from faber_db.safety_validator import analyzer
from faber_db.safety_validator.analyzer import analyze_script
from faber_db.safety_validator.fastpath import fast_unit
from faber_db.safety_validator.rules.base import RuleContext
from faber_db.safety_validator.script_rules import _column_types_of
from faber_db.safety_validator.shapes import shape_unit
from faber_db.sql.split import split_sql

DIALECTS = ("postgresql", "mysql", "sqlite")
PLAIN = ["t", "users", "Users", "id", "name", "score_1", "_x", "status", "created_at"]
PLAIN_TYPES = ["INTEGER", "TEXT", "VARCHAR(50)", "TIMESTAMP(3)", "BOOLEAN", "BIGINT"]
NAMES = [
    "t", "users", "Users", "name", "type", "date", "text", "comment", "key", "value",
    "user", "order", "status", "desc", "first", "after", "index", "table", "id", "score_1",
    "_x", "column", "default", "primary", "unique", "json", "timestamp", "now", "set",
]  # fmt: skip
TYPES = [
    "INTEGER", "int", "BIGINT", "SMALLINT", "TEXT", "BOOLEAN", "DATE", "TIMESTAMP",
    "TIMESTAMP(3)", "VARCHAR(50)", "varchar(191)", "CHAR(2)", "NUMERIC(10, 2)", "DECIMAL(5)",
    "JSON", "JSONB", "UUID", "TIMESTAMPTZ", "SERIAL", "BIGSERIAL", "DATETIME", "DATETIME(3)",
    "TINYINT(1)", "REAL", "FLOAT", "BLOB", "BYTEA", "LONGTEXT", "money", "INT[]",
]  # fmt: skip
DEFAULTS = ["0", "1.5", "'x'", "'it''s'", "TRUE", "false", "NULL", "CURRENT_TIMESTAMP",
            "CURRENT_DATE", "now()", "-1", "gen_random_uuid()", "random()"]  # fmt: skip
ACTIONS = ["CASCADE", "RESTRICT", "NO ACTION", "SET NULL", "SET DEFAULT"]
MUTATIONS = ["IF NOT EXISTS", "NOT VALID", "--", "/* c */", ";", "(", ")", ",", "ONLY",
             "CONCURRENTLY", "SELECT", "DELETE FROM t", "E'x'", "$$x$$", "1=1", "AS"]  # fmt: skip


def _name(rng: random.Random, dialect: str, parts: int = 1) -> str:
    out = []
    for _ in range(rng.randint(1, parts)):
        word = rng.choice(PLAIN) if rng.random() < 0.6 else rng.choice(NAMES)
        if rng.random() < 0.15:
            word = f"`{word}`" if dialect == "mysql" else f'"{word}"'
        out.append(word)
    return ".".join(out)


def _column(rng: random.Random, dialect: str, added: bool) -> str:
    parts = [_name(rng, dialect), rng.choice(PLAIN_TYPES if rng.random() < 0.5 else TYPES)]
    for _ in range(rng.randint(0, 2)):
        choice = rng.random()
        if choice < 0.3:
            parts.append(rng.choice(["NOT NULL", "NULL"]))
        elif choice < 0.6:
            parts.append(f"DEFAULT {rng.choice(DEFAULTS)}")
        elif choice < 0.75:
            parts.append(rng.choice(["PRIMARY KEY", "UNIQUE"]))
        else:
            parts.append(_references(rng, dialect))
    return " ".join(parts)


def _references(rng: random.Random, dialect: str) -> str:
    text = f"REFERENCES {_name(rng, dialect, 2)}"
    if rng.random() < 0.7:
        text += f" ({_name(rng, dialect)})"
    for event in rng.sample(["DELETE", "UPDATE"], rng.randint(0, 2)):
        text += f" ON {event} {rng.choice(ACTIONS)}"
    return text


def _names(rng: random.Random, dialect: str) -> str:
    return ", ".join(_name(rng, dialect) for _ in range(rng.randint(1, 3)))


def _statement(rng: random.Random, dialect: str) -> str:
    kind = rng.randrange(7)
    table = _name(rng, dialect, 2)
    if kind == 0:
        items = [_column(rng, dialect, False) for _ in range(rng.randint(1, 4))]
        if rng.random() < 0.5:
            constraint = f"CONSTRAINT {_name(rng, dialect)} " if rng.random() < 0.5 else ""
            items.append(
                constraint
                + rng.choice(
                    [
                        f"PRIMARY KEY ({_names(rng, dialect)})",
                        f"UNIQUE ({_names(rng, dialect)})",
                        f"FOREIGN KEY ({_names(rng, dialect)}) {_references(rng, dialect)}",
                    ]
                )
            )
        return f"CREATE TABLE {table} ({', '.join(items)})"
    if kind == 1:
        unique = "UNIQUE " if rng.random() < 0.3 else ""
        name = _name(rng, dialect) + " " if rng.random() < 0.9 else ""
        columns = ", ".join(
            _name(rng, dialect) + rng.choice(["", " ASC", " DESC"])
            for _ in range(rng.randint(1, 3))
        )
        return f"CREATE {unique}INDEX {name}ON {table} ({columns})"
    if kind == 2:
        column = rng.choice(["COLUMN ", ""])
        return f"ALTER TABLE {table} ADD {column}{_column(rng, dialect, True)}"
    if kind == 3:
        return (
            f"ALTER TABLE {table} ADD CONSTRAINT {_name(rng, dialect)} FOREIGN KEY "
            f"({_names(rng, dialect)}) {_references(rng, dialect)}"
        )
    if kind == 4:
        target = rng.choice([f"TABLE {table}", f"COLUMN {_name(rng, dialect, 3)}"])
        value = rng.choice(["'a; b'", "NULL", "'it''s'"])
        return f"COMMENT ON {target} IS {value}"
    if kind == 5:
        sets = ", ".join(
            f"{_name(rng, dialect)} = {rng.choice(DEFAULTS + NAMES[:8])}"
            + rng.choice(["", " + 1", " * 2"])
            for _ in range(rng.randint(1, 3))
        )
        where = " AND ".join(
            f"{rng.choice(NAMES + DEFAULTS)} {rng.choice(['=', '<', '>=', '<>'])} "
            f"{rng.choice(DEFAULTS + NAMES)}"
            for _ in range(rng.randint(1, 2))
        )
        return f"UPDATE {table} SET {sets}" + (f" WHERE {where}" if rng.random() < 0.9 else "")
    return rng.choice(
        [
            f"DROP TABLE {table}",
            f"ALTER TABLE {table} ALTER COLUMN {_name(rng, dialect)} TYPE {rng.choice(TYPES)}",
            f"ALTER TABLE {table} MODIFY {_column(rng, dialect, True)}",
            f"ALTER TABLE {table} RENAME TO {_name(rng, dialect)}",
            f"INSERT INTO {table} SELECT * FROM {_name(rng, dialect)}",
        ]
    )


def _mutate(rng: random.Random, text: str) -> str:
    words = text.split(" ")
    position = rng.randrange(len(words) + 1)
    return " ".join(words[:position] + [rng.choice(MUTATIONS)] + words[position:])


def _generated(dialect: str, count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        text = _statement(rng, dialect)
        out.append(_mutate(rng, text) if rng.random() < 0.25 else text)
    return out


def _facts(unit) -> tuple:
    facts = unit.facts
    if facts is None:
        return ()
    return (facts.created, facts.filled, facts.dropped, facts.renamed, facts.writes)


def _analysed(text: str, ctx: RuleContext, fast: bool, monkeypatch) -> list[tuple]:
    monkeypatch.setattr(analyzer, "FAST_PATH", fast)
    (stmt,) = split_sql(text, ctx.dialect) or [None]
    units = analyzer._analyze_statement(stmt, ctx)
    return [
        (u.hits, u.category, u.in_routine, _facts(u), _column_types_of(u), u.text) for u in units
    ]


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("version", [None, (10,)])
def test_every_statement_analysed_alike(dialect, version, monkeypatch):
    ctx = RuleContext(dialect, version)
    fast_count = 0
    for text in _generated(
        dialect, 1500, seed=DIALECTS.index(dialect) * 100 + (version or (0,))[0]
    ):
        if not split_sql(text, dialect) or len(split_sql(text, dialect)) != 1:
            continue
        fast_count += fast_unit(0, text, ctx) is not None
        assert _analysed(text, ctx, True, monkeypatch) == _analysed(
            text, ctx, False, monkeypatch
        ), text
    assert fast_count > 120  # the grammar is exercised, not only its refusals


@pytest.mark.parametrize("dialect", DIALECTS)
def test_whole_scripts_find_the_same(dialect, monkeypatch):
    for seed in range(30):
        script = ";\n".join(_generated(dialect, 40, seed=seed)) + ";\n"
        monkeypatch.setattr(analyzer, "FAST_PATH", True)
        fast = analyze_script(script, dialect, "m")
        monkeypatch.setattr(analyzer, "FAST_PATH", False)
        assert fast == analyze_script(script, dialect, "m"), seed


def test_inside_a_function_body_the_same(monkeypatch):
    inner = "\n".join(s + ";" for s in _generated("postgresql", 200, seed=7))
    script = f"CREATE FUNCTION f() RETURNS void AS $$\nBEGIN\n{inner}\nEND;\n$$ LANGUAGE plpgsql;"
    monkeypatch.setattr(analyzer, "FAST_PATH", True)
    fast = analyze_script(script, "postgresql")
    monkeypatch.setattr(analyzer, "FAST_PATH", False)
    assert fast == analyze_script(script, "postgresql")


def test_a_type_change_after_fast_statements_still_sees_their_types():
    """MODIFY repeating the type a fast-path CREATE TABLE gave: no type change."""
    script = (
        "CREATE TABLE t (c INT, d VARCHAR(10));\n"
        "INSERT INTO t SELECT * FROM old_t;\n"
        "ALTER TABLE t MODIFY c INT;\n"
        "ALTER TABLE t MODIFY d VARCHAR(5);\n"
    )
    rules = [(f.rule, f.columns) for f in analyze_script(script, "mysql")]
    assert ("alter_column_type", ("d",)) in rules
    assert ("alter_column_type", ("c",)) not in rules


def _unit_fields(unit) -> tuple:
    return (unit.hits, unit.category, unit.in_routine, _facts(unit), unit.facts.deferred, unit.text)


PRISMA_SHAPES = [
    'CREATE TABLE "User" ("id" SERIAL NOT NULL, "email" TEXT NOT NULL, "name" VARCHAR(191), '
    '"createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP, CONSTRAINT "User_pkey" '
    'PRIMARY KEY ("id"))',
    'CREATE UNIQUE INDEX "User_email_key" ON "User"("email")',
    'CREATE INDEX "Post_authorId_createdAt_idx" ON "public"."Post"("authorId", "createdAt" DESC)',
    'ALTER TABLE "Post" ADD CONSTRAINT "Post_authorId_fkey" FOREIGN KEY ("authorId") '
    'REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE',
    'ALTER TABLE "User" ADD COLUMN "bio" TEXT',
    'ALTER TABLE "User" ADD COLUMN "score" INTEGER NOT NULL DEFAULT 0',
    'ALTER TABLE "User" ADD COLUMN "name" VARCHAR(191) NULL',
    'COMMENT ON COLUMN "User"."bio" IS \'shown on the profile; may be empty\'',
    "ALTER TABLE `Post` ADD CONSTRAINT `Post_authorId_fkey` FOREIGN KEY (`authorId`) "
    "REFERENCES `User`(`id`) ON DELETE RESTRICT ON UPDATE CASCADE",
]


# Statements at the shapes' edges: keywords as names, sizes on unsized types, inline
# REFERENCES on MySQL, a constraint named by a grammar word, a NULL() call.
EDGE_SHAPES = [
    "CREATE TABLE t (key INT)", "CREATE TABLE t (a INT(5))", "CREATE TABLE t (a INT REFERENCES u)",
    "CREATE TABLE t (a INT, CONSTRAINT key PRIMARY KEY (a))", "CREATE TABLE t (a INT,)",
    "CREATE TABLE t (a SERIAL, b TEXT DEFAULT 'x' NOT NULL UNIQUE)", "CREATE TABLE t ()",
    "CREATE TABLE t (a INT) x", "CREATE TABLE t (a int, FOREIGN KEY (a) REFERENCES u ON DELETE SET NULL)",
    "CREATE INDEX desc ON t (a)", "CREATE INDEX i ON t (a desc, b asc)", "CREATE INDEX i ON t (desc)",
    "ALTER TABLE t ADD COLUMN column INT", "ALTER TABLE t ADD column INT",
    "ALTER TABLE t ADD c INT DEFAULT 'NOT'", "ALTER TABLE t ADD c TEXT(5)",
    "ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES key (id)",
    "COMMENT ON TABLE table IS 'x'", "COMMENT ON COLUMN a.b.c.d IS 'x'",
]  # fmt: skip


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("version", [None, (10,)])
def test_shapes_answer_as_the_token_grammar(dialect, version):
    """Where a one-regex shape reads a statement, the token grammar reads it alike."""
    ctx = RuleContext(dialect, version)
    answered = 0
    texts = (
        _generated(dialect, 3000, seed=50 + DIALECTS.index(dialect)) + PRISMA_SHAPES + EDGE_SHAPES
    )
    for text in texts:
        shaped = shape_unit(0, text, ctx)
        if shaped is None:
            continue
        answered += 1
        tokens = fast_unit(0, text, ctx)
        assert tokens is not None, text
        assert _unit_fields(shaped) == _unit_fields(tokens), text
    assert answered > 200  # the shapes take a good share, not only refusals


@pytest.mark.parametrize("text", PRISMA_SHAPES[:8])
def test_prisma_statements_take_a_shape(text):
    assert shape_unit(0, text, RuleContext("postgresql")) is not None


@pytest.mark.parametrize(
    "text",
    [
        "CREATE TABLE t (id INT) AS SELECT 1",
        "CREATE TABLE IF NOT EXISTS t (id INT)",
        "ALTER TABLE t ADD COLUMN c INT NOT NULL",
        "ALTER TABLE t ADD COLUMN c SERIAL",
        "ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES u (id) NOT VALID",
        "CREATE INDEX CONCURRENTLY i ON t (c)",
        "UPDATE t SET a = 1",
        "UPDATE t SET a = 1 WHERE 1 = 1",
        "CREATE TABLE t (id INT /* ; */)",
    ],
)
def test_outside_the_grammar_goes_to_sqlglot(text):
    assert fast_unit(0, text, RuleContext("postgresql")) is None


_BODY_PIECES = [
    "IF", "THEN", "ELSIF", "ELSE", "END", "IF", "LOOP", "WHILE", "FOR", "IN", "DECLARE", "BEGIN",
    "EXCEPTION", "WHEN", "others", "x", "x", ":", "=", ":=", ".", "rec", "<<", "lbl", ">>", "(",
    ")", ",", "UPDATE", "t", "SET", "a", "=", "1", "WHERE", "id", "DELETE", "FROM", "PERFORM",
    "EXECUTE", "'q'", "'it''s'", "E'x'", "e", "'", "$1", '"T"', "-- c\n", "/* c */", "RAISE",
    "NOTICE", "RETURN", "NULL", "CALL", "p", "PREPARE", "HANDLER", "CONTINUE", "SQLSTATE",
    "'42000'", "NOT", "FOUND", "DO", "REPEAT", "UNTIL", "é", "\u00a0", "\\", "#", "`b`",
]  # fmt: skip


@pytest.mark.parametrize("dialect", DIALECTS)
def test_body_pieces_read_alike(dialect, monkeypatch):
    """body_statements' one-regex reading of plain pieces equals the tokenizer's."""
    import faber_db.sql.split as sqlsplit
    from faber_db.safety_validator.routines import body_statements

    rng = random.Random(len(dialect))
    for _ in range(400):
        body = "".join(
            rng.choice(_BODY_PIECES) + rng.choice([" ", " ", "\n", "", ";\n"])
            for _ in range(rng.randint(1, 60))
        )
        monkeypatch.setattr(sqlsplit, "FAST_TOKENS", True)
        fast = body_statements(body, dialect)
        monkeypatch.setattr(sqlsplit, "FAST_TOKENS", False)
        assert fast == body_statements(body, dialect), body
