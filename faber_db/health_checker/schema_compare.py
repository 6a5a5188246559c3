"""Compare two schema models (what engines/<engine>/introspection.py returns) object
by object: which objects the expected schema has and the actual one lacks
(`missing`), which only the actual one has (`extra`), and which attributes differ
(`changed`). Pure logic, apart from `introspect`, which reads one database.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from faber_db.engines import engine_for

# The order differences are listed in: containers first, then what they hold.
OBJECT_TYPES = (
    "extension",
    "enum",
    "sequence",
    "table",
    "column",
    "primary_key",
    "unique",
    "check",
    "exclusion",
    "foreign_key",
    "index",
    "view",
    "trigger",
    "function",
    "event",
)
PARENT = "table"  # the attribute naming an object's table: not compared


def introspect(target) -> dict[str, dict[str, dict]]:
    """The schema model of one database: `target` is a config Target or a ConnectionInfo."""
    conn = getattr(target, "conn", target)
    engine = engine_for(conn)
    with engine.session() as db:
        return engine.schema_model(db)


def compare_schemas(expected: dict, actual: dict, ignore=()) -> list[dict]:
    """Every difference between two schema models, as {object_type, object, attribute,
    kind, expected, actual}; objects matching an `ignore` pattern (fnmatch, against the
    object's table or its own name, qualified or not) are left out, and so are the
    columns, keys, indexes and triggers of a table that is itself missing or extra."""
    patterns = tuple(ignore)
    absent_tables = _absent(expected, actual)
    differences = []
    for object_type in _types(expected, actual):
        want = _kept(expected.get(object_type, {}), patterns)
        have = _kept(actual.get(object_type, {}), patterns)
        for name in sorted(want.keys() | have.keys()):
            left, right = want.get(name), have.get(name)
            parent = (left or right).get(PARENT)
            if parent is not None and parent in absent_tables:
                continue
            differences += _object_differences(object_type, name, left, right)
    for d in differences:
        if d["object_type"] == "table" and d["kind"] != "changed":
            side = expected if d["kind"] == "missing" else actual
            d["expected" if d["kind"] == "missing" else "actual"]["columns"] = _columns(
                side, d["object"]
            )
    return differences


def is_ignored(name: str, attributes: dict, patterns) -> bool:
    """True when an object (or the table it belongs to) matches an ignore pattern."""
    key = attributes.get(PARENT) or name
    candidates = {key, key.split(".", 1)[-1]}
    return any(fnmatchcase(c, p) for c in candidates for p in patterns)


def _types(expected: dict, actual: dict) -> list[str]:
    known = [t for t in OBJECT_TYPES if t in expected or t in actual]
    return known + sorted((expected.keys() | actual.keys()) - set(OBJECT_TYPES))


def _kept(objects: dict, patterns) -> dict:
    return {n: a for n, a in objects.items() if not is_ignored(n, a, patterns)}


def _absent(expected: dict, actual: dict) -> set[str]:
    """Tables on one side only: their contents are not listed one by one."""
    want, have = set(expected.get("table", {})), set(actual.get("table", {}))
    return want ^ have


def _object_differences(object_type: str, name: str, left, right) -> list[dict]:
    def difference(kind, attribute, expected, actual) -> dict:
        return {
            "object_type": object_type,
            "object": name,
            "attribute": attribute,
            "kind": kind,
            "expected": expected,
            "actual": actual,
        }

    if right is None:
        return [difference("missing", None, _public(left), None)]
    if left is None:
        return [difference("extra", None, None, _public(right))]
    return [
        difference("changed", attribute, left.get(attribute), right.get(attribute))
        for attribute in sorted((left.keys() | right.keys()) - {PARENT})
        if left.get(attribute) != right.get(attribute)
    ]


def _columns(schema: dict, table: str) -> list[str]:
    """The names of a table's columns, in the model's order."""
    return [
        name[len(table) + 1 :]
        for name, attributes in schema.get("column", {}).items()
        if attributes.get(PARENT) == table
    ]


def _public(attributes: dict) -> dict:
    return {k: v for k, v in attributes.items() if k != PARENT}
