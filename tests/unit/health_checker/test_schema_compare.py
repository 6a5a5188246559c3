"""compare_schemas: missing, extra and changed objects, children of absent tables,
ignore patterns; and shadow names (which ones a later run may drop)."""

from __future__ import annotations

import os

from faber_db.health_checker import shadow
from faber_db.health_checker.schema_compare import compare_schemas

EXPECTED = {
    "table": {"public.account": {"kind": "table"}, "public.post": {"kind": "table"}},
    "column": {
        "public.account.name": {"table": "public.account", "type": "text", "default": "'a'"},
        "public.post.title": {"table": "public.post", "type": "text", "default": None},
    },
    "index": {"public.post_title_idx": {"table": "public.post", "columns": ["title"]}},
    "enum": {"public.Role": {"values": ["USER", "ADMIN"]}},
}


def keys(differences):
    return [(d["object_type"], d["object"], d["attribute"], d["kind"]) for d in differences]


def test_identical_schemas_have_no_differences():
    assert compare_schemas(EXPECTED, EXPECTED) == []


def test_changed_attribute_names_both_values():
    actual = {**EXPECTED, "enum": {"public.Role": {"values": ["USER", "ADMIN", "GUEST"]}}}
    [difference] = compare_schemas(EXPECTED, actual)
    assert difference == {
        "object_type": "enum",
        "object": "public.Role",
        "attribute": "values",
        "kind": "changed",
        "expected": ["USER", "ADMIN"],
        "actual": ["USER", "ADMIN", "GUEST"],
    }


def test_a_missing_table_is_one_difference_not_one_per_column():
    actual = {
        "table": {"public.account": {"kind": "table"}, "public.extra": {"kind": "table"}},
        "column": {
            "public.account.name": EXPECTED["column"]["public.account.name"],
            "public.extra.id": {"table": "public.extra", "type": "int", "default": None},
        },
        "index": {},
        "enum": EXPECTED["enum"],
    }
    differences = compare_schemas(EXPECTED, actual)
    assert keys(differences) == [
        ("table", "public.extra", None, "extra"),
        ("table", "public.post", None, "missing"),
    ]
    assert differences[0]["actual"] == {"kind": "table", "columns": ["id"]}
    assert differences[1]["expected"] == {"kind": "table", "columns": ["title"]}


def test_missing_and_extra_carry_the_objects_attributes_without_their_table():
    actual = {**EXPECTED, "index": {}}
    [difference] = compare_schemas(EXPECTED, actual)
    assert difference["kind"] == "missing" and difference["actual"] is None
    assert difference["expected"] == {"columns": ["title"]}


def test_ignore_patterns_match_the_table_with_or_without_its_schema():
    actual = {
        **EXPECTED,
        "table": {**EXPECTED["table"], "public.audit_log": {"kind": "table"}},
        "column": {
            **EXPECTED["column"],
            "public.post.title": {"table": "public.post", "type": "varchar", "default": None},
        },
    }
    assert len(compare_schemas(EXPECTED, actual)) == 2
    assert keys(compare_schemas(EXPECTED, actual, ["audit_*"])) == [
        ("column", "public.post.title", "type", "changed")
    ]
    assert compare_schemas(EXPECTED, actual, ["audit_*", "public.post"]) == []


def test_only_shadows_of_dead_processes_on_this_host_are_stale():
    mine = shadow.shadow_name()
    assert mine.startswith("faber_shadow_") and not shadow.is_stale(mine)
    tag = shadow.host_tag()
    dead = 2**22 + 12345  # above any pid_max this test runs under
    assert not shadow.process_alive(dead)
    assert shadow.is_stale(f"faber_shadow_{tag}_{dead}_0123abcd")
    assert shadow.is_stale(f"faber_shadow_{tag}_{dead}_0123abcd.db")
    other_host = "000000" if tag != "000000" else "111111"
    assert not shadow.is_stale(f"faber_shadow_{other_host}_{dead}_0123abcd")
    assert not shadow.is_stale(f"faber_shadow_{tag}_{os.getpid()}_0123abcd")
    assert not shadow.is_stale("faber_shadow_app")
    assert not shadow.is_stale(f"faber_test_{tag}_{dead}_0123abcd")
