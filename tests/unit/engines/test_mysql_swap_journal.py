"""The MySQL/MariaDB swap journal, without a server: what a killed restore leaves
for the next run to finish or undo must read back exactly as it was written."""

from __future__ import annotations

import json

from faber_db.engines.mysql.objects import SchemaObject
from faber_db.engines.mysql.swap_journal import STATES, SwapJournal, journal_path, journals_of

TRIGGER = SchemaObject(
    "trigger",
    "orders_ai",
    "CREATE TRIGGER orders_ai AFTER INSERT ON orders FOR EACH ROW SET @x = 1",
    sql_mode="STRICT_TRANS_TABLES",
    character_set_client="utf8mb4",
    time_zone="+00:00",
)


def journal(state_dir, database: str = "shop") -> SwapJournal:
    return SwapJournal(
        path=journal_path(state_dir, "production", database),
        environment="production",
        database=database,
        backup_id="production-20240101-000000-abcd",
        scratch="__faber_scratch_1",
        trash="__faber_trash_1",
    )


def test_a_saved_journal_loads_back_equal_objects_included(tmp_path):
    written = journal(tmp_path)
    written.old_tables = ["orders", "users"]
    written.new_objects = [TRIGGER]
    written.save("swapping")
    loaded = SwapJournal.load(written.path)
    assert loaded == written
    assert loaded.state == "swapping" and loaded.new_objects == [TRIGGER]


def test_each_save_records_the_phase_about_to_start(tmp_path):
    j = journal(tmp_path)
    for state in STATES:
        j.save(state)
        assert json.loads(j.path.read_text())["state"] == state
    assert "path" not in json.loads(j.path.read_text())
    assert not [p for p in tmp_path.iterdir() if p != j.path]  # no temp file left behind


def test_one_journal_per_database_found_per_environment(tmp_path):
    shop, blog = journal(tmp_path, "shop"), journal(tmp_path, "blog")
    assert shop.path != blog.path
    assert journal_path(tmp_path, "production", "shop") == shop.path  # stable
    other = SwapJournal(journal_path(tmp_path, "prod", "shop"), "prod", "shop", "b", "s", "t")
    for j in (shop, blog, other):
        j.save()
    assert journals_of(tmp_path, "production") == sorted([shop.path, blog.path])
    assert journals_of(tmp_path, "prod") == [other.path]  # no prefix match across envs
    shop.remove()
    assert journals_of(tmp_path, "production") == [blog.path]
    shop.remove()  # removing twice is fine (the restore is over)


def test_no_state_folder_means_no_journal(tmp_path):
    assert journals_of(tmp_path / "missing", "production") == []
