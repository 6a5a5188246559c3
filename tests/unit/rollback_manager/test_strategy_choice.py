"""The auto strategy's choice between down files and a restore: pure logic."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from faber_db.errors import BackupNotFoundError, InvalidInputError
from faber_db.rollback_manager.down_plan import DownPlan, DownStep
from faber_db.rollback_manager.strategy import choose


class _Down:
    """A down file stand-in: DownStep only asks whether there is one."""

    script = b"DROP TABLE t;\n"


def _plan(with_down=True, rows=(0,)) -> DownPlan:
    step = DownStep("20240102000000_b", ["id"], None, _Down() if with_down else None)
    plan = DownPlan(SimpleNamespace(environment="dev"), "20240101000000_a", [step])
    plan.findings = [_finding(n) for n in rows]
    return plan


def _finding(rows):
    from faber_db.safety_validator.findings import Finding

    return Finding("drop_table", "danger", "", "m", 0, 1, "t", "", impact={"rows": rows}, table="t")


RESTORE = {"available": True, "rows_lost": 5, "tables": []}
NO_BACKUP = {"available": False, "reason": "No valid backup.", "rows_lost": None, "tables": []}


def test_auto_picks_down_only_when_it_loses_fewer_rows():
    assert choose("auto", _plan(rows=(4,)), RESTORE)[0] == "down"
    assert choose("auto", _plan(rows=(5,)), RESTORE)[0] == "restore"
    assert choose("auto", _plan(rows=(None,)), RESTORE)[0] == "restore"


def test_auto_without_a_down_file_restores_and_says_which():
    chosen, why = choose("auto", _plan(with_down=False), RESTORE)
    assert chosen == "restore" and "20240102000000_b" in why


def test_auto_without_a_backup_uses_down_files():
    assert choose("auto", _plan(rows=(9,)), NO_BACKUP)[0] == "down"
    with pytest.raises(BackupNotFoundError):
        choose("auto", _plan(with_down=False), NO_BACKUP)


def test_forced_strategies_are_refused_when_impossible():
    with pytest.raises(InvalidInputError):
        choose("down", _plan(with_down=False), RESTORE)
    with pytest.raises(BackupNotFoundError):
        choose("restore", _plan(), NO_BACKUP)
    assert choose("down", _plan(rows=(100,)), RESTORE)[0] == "down"
