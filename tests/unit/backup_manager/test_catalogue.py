"""backups.json: atomic, locked, and never overwritten when damaged."""

from __future__ import annotations

import json
import multiprocessing

import pytest
from test_retention import entry

from faber_db.backup_manager.catalogue import Catalogue
from faber_db.errors import BackupNotFoundError, CatalogueCorruptError


def test_empty_catalogue(tmp_path):
    assert Catalogue(tmp_path / "backups.json", tmp_path).entries() == []


def test_update_round_trips_and_keeps_unknown_keys(tmp_path):
    catalogue = Catalogue(tmp_path / "backups.json", tmp_path)
    with catalogue.update() as entries:
        first = entry("backup-20260101-000000", 1)
        first.extra["tags"] = ["kept"]
        entries.append(first)
    loaded = catalogue.get("backup-20260101-000000")
    assert loaded.extra == {"tags": ["kept"]}
    assert json.loads((tmp_path / "backups.json").read_text())["schema_version"] == "1.0"
    with pytest.raises(BackupNotFoundError):
        catalogue.get("backup-20990101-000000")


def _append(args):
    path, index = args
    from pathlib import Path

    catalogue = Catalogue(Path(path), Path(path).parent)
    with catalogue.update() as entries:
        entries.append(entry(f"backup-20260101-0000{index:02d}", 1))


def test_concurrent_writers_lose_nothing(tmp_path):
    path = tmp_path / "backups.json"
    with multiprocessing.get_context("fork").Pool(8) as pool:
        pool.map(_append, [(str(path), i) for i in range(40)])
    assert len(Catalogue(path, tmp_path).entries()) == 40


@pytest.mark.parametrize(
    "damage",
    ["{not json", '{"backups": "x"}', '{"schema_version": "1.0", "backups": [{"id": "x"}]}', ""],
)
def test_damaged_catalogue_is_refused_and_left_untouched(tmp_path, damage):
    path = tmp_path / "backups.json"
    path.write_text(damage)
    catalogue = Catalogue(path, tmp_path)
    with pytest.raises(CatalogueCorruptError) as raised, catalogue.update() as entries:
        entries.append(entry("backup-20260101-000000", 1))
    assert "will not overwrite" in raised.value.message
    assert path.read_text() == damage


def test_previous_version_is_offered_for_recovery(tmp_path):
    path = tmp_path / "backups.json"
    catalogue = Catalogue(path, tmp_path)
    for i in range(2):
        with catalogue.update() as entries:
            entries.append(entry(f"backup-20260101-00000{i}", 1))
    path.write_text("garbage")
    with pytest.raises(CatalogueCorruptError) as raised:
        catalogue.entries()
    assert any("backups.json.prev" in s for s in raised.value.suggestions)
    assert len(json.loads((tmp_path / "backups.json.prev").read_text())["backups"]) == 1
