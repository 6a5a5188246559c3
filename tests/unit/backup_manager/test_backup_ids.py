"""Backup ids and labels are unique, sortable and safe as file names."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from faber_db.backup_manager.ids import (
    check_backup_id,
    check_reason,
    new_backup_id,
    normalise_label,
)
from faber_db.errors import InvalidInputError

WHEN = datetime(2025, 1, 24, 14, 0, 0, tzinfo=timezone.utc)


def test_id_format():
    assert new_backup_id(WHEN, None, lambda _: False) == "backup-20250124-140000"
    assert new_backup_id(WHEN, "pre-v2", lambda _: False) == "backup-20250124-140000-pre-v2"


def test_same_second_gets_a_suffix():
    taken = {"backup-20250124-140000", "backup-20250124-140000-2"}
    assert new_backup_id(WHEN, None, taken.__contains__) == "backup-20250124-140000-3"


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("Pre V2 Migration", "pre-v2-migration"),
        ("  x  ", "x"),
        ("v1.2_rc", "v1.2_rc"),
        ("", None),
        (None, None),
    ],
)
def test_labels_are_normalised(label, expected):
    assert normalise_label(label) == expected


@pytest.mark.parametrize(
    "label",
    [
        "../etc",
        "a/b",
        "a..b",
        "x;rm -rf /",
        "$(id)",
        "`id`",
        "a|b",
        "a&b",
        "a>b",
        "-leading",
        "x" * 64,
        "tab\\x",
    ],
)
def test_unsafe_labels_are_refused(label):
    with pytest.raises(InvalidInputError):
        normalise_label(label)


@pytest.mark.parametrize(
    "backup_id",
    [
        "../../etc/passwd",
        "backup-2025",
        "backup-20250124-140000/..",
        "backup-20250124-140000-a..b",
        "x",
    ],
)
def test_bad_ids_are_refused(backup_id):
    with pytest.raises(InvalidInputError):
        check_backup_id(backup_id)


def test_reasons():
    assert check_reason("Pre Migration") == "pre-migration"
    with pytest.raises(InvalidInputError):
        check_reason("../x")
