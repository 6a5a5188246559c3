"""A catalogue entry's `file` never leads faber-db outside the environment's backups
folder: delete, prune, verify, restore and rollback refuse such an entry with
nothing read or deleted, list warns about it, and a symlinked backup directory is
removed as a link (never followed) without a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from restore_support import backup_id, build_schema
from support import Project

from faber_db.backup_manager.catalogue import BackupEntry, Catalogue
from faber_db.errors import BackupOutsideFolderError

sqlite_only = pytest.mark.parametrize("engine_name", ["sqlite"])
BACKUP_ID = "backup-20200101-000000"


@pytest.fixture
def victim(tmp_path) -> Path:
    """Files outside the project that a hostile catalogue points at."""
    root = tmp_path / "victim"
    (root / "tree" / "sub").mkdir(parents=True)
    (root / "important.txt").write_text("keep me")
    (root / "rel.txt").write_text("keep me too")
    (root / "tree" / "sub" / "data").write_text("and me")
    return root


def _files(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in root.rglob("*") if p.is_file()}


def _hostile_targets(project: Project, victim: Path) -> list[str]:
    """An absolute file, a relative path climbing out, a directory."""
    climb = Path(*[".."] * len(project.root.relative_to(victim.parent).parts))
    return [str(victim / "important.txt"), str(climb / "victim" / "rel.txt"), str(victim / "tree")]


def _point_entry_at(project: Project, file: str, **changes) -> str:
    """Make the single catalogued backup name `file`; return its id."""
    catalogue = project.catalogue()
    entry = catalogue["backups"][0]
    entry.update(file=file, **changes)
    project.catalogue_path.write_text(json.dumps(catalogue))
    return entry["id"]


@pytest.mark.parametrize("which", [0, 1, 2], ids=["absolute", "relative", "directory"])
@sqlite_only
def test_every_command_refuses_an_entry_outside_the_backups_folder(project, victim, which):
    build_schema(project.database)
    backup_id(project)
    bad = _point_entry_at(project, _hostile_targets(project, victim)[which])
    before_files, before_catalogue = _files(victim), project.catalogue_path.read_text()

    for args in (
        ("backups", "delete", bad, "--yes"),
        ("backups", "verify", bad),
        ("backups", "verify", bad, "--deep"),
        ("restore", "dev", "--from", bad, "--yes"),
        ("rollback", "dev", "--from", bad, "--yes"),
        ("restore", "dev", "--from", bad, "--dry-run"),
    ):
        code, out = project.run_json(*args)
        assert code == 13 and out["error"]["code"] == "backup_invalid", (args, out)
        assert "not inside" in out["message"] and "Nothing was touched" in out["message"]
        assert out["recovery"]["suggestions"], out

    assert _files(victim) == before_files
    assert project.catalogue_path.read_text() == before_catalogue  # not even marked invalid

    code, out = project.run_json("backups", "list")
    assert code == 0 and any("not inside" in w for w in out["warnings"]), out


@sqlite_only
def test_prune_refuses_before_deleting_anything(project, victim):
    config = json.loads((project.config_dir / "config.json").read_text())
    config["backup"] = {"min_keep": 1}
    project.write_config(config)
    build_schema(project.database)
    good = backup_id(project)
    catalogue = project.catalogue()
    real = catalogue["backups"][0]
    for index, file in enumerate(_hostile_targets(project, victim)):
        catalogue["backups"].append(
            real
            | {
                "id": f"backup-2020010{index + 1}-000000",
                "timestamp": f"2020-01-0{index + 1}T00:00:00Z",
                "expires_at": f"2020-02-0{index + 1}T00:00:00Z",
                "reason": "manual",
                "file": file,
            }
        )
    project.catalogue_path.write_text(json.dumps(catalogue))
    before_files, before_catalogue = _files(victim), project.catalogue_path.read_text()

    code, out = project.run_json("backups", "prune", "--yes")

    assert code == 13 and out["error"]["code"] == "backup_invalid", out
    assert _files(victim) == before_files
    assert project.catalogue_path.read_text() == before_catalogue
    assert (project.root / real["file"]).is_file(), f"{good} was deleted"


@sqlite_only
def test_a_symlink_to_a_directory_outside_is_refused(project, victim):
    build_schema(project.database)
    backup_id(project)
    env_dir = project.catalogue_path.parent / "dev"
    link = env_dir / f"{BACKUP_ID}.dir"
    link.symlink_to(victim / "tree", target_is_directory=True)
    bad = _point_entry_at(project, str(link.relative_to(project.root)), format="directory")

    code, out = project.run_json("backups", "delete", bad, "--yes")

    assert code == 13 and out["error"]["code"] == "backup_invalid", out
    assert (victim / "tree" / "sub" / "data").read_text() == "and me"
    assert link.is_symlink() and [e["id"] for e in project.catalogue()["backups"]] == [bad]


@sqlite_only
def test_a_symlink_to_a_directory_inside_is_deleted_as_a_link(project):
    build_schema(project.database)
    backup_id(project)
    env_dir = project.catalogue_path.parent / "dev"
    real_dir = env_dir / "backup-20200101-000001.dir"
    (real_dir / "inner").mkdir(parents=True)
    (real_dir / "inner" / "toc.dat").write_text("data")
    link = env_dir / f"{BACKUP_ID}.dir"
    link.symlink_to(real_dir, target_is_directory=True)
    entry = _point_entry_at(project, str(link.relative_to(project.root)), format="directory")

    output = project.run("backups", "delete", entry, "--yes", "--json")

    assert "Traceback" not in output.stderr, output.stderr
    assert output.returncode == 0 and output.json["result"]["deleted"] == [entry], output.stdout
    assert not link.exists() and not link.is_symlink()
    assert (real_dir / "inner" / "toc.dat").read_text() == "data"  # not followed
    assert project.catalogue()["backups"] == []


def _entry(file: str, environment: str = "dev") -> BackupEntry:
    return BackupEntry(
        **dict.fromkeys(
            ["engine", "database", "timestamp", "label", "reason", "format", "sha256"], ""
        ),
        id=BACKUP_ID,
        environment=environment,
        file=file,
        size_bytes=0,
        compressed=False,
        compression="none",
        duration_seconds=0.0,
        tool_version="",
        server_version="",
        migrations={},
        retention_days=1,
        expires_at="",
        status="valid",
        verification={},
        manifest={},
    )


@pytest.mark.parametrize(
    "file",
    [
        "backups/dev",  # the folder itself
        "backups/staging/x.dump",  # another environment's folder
        "backups/backups.json",
        "backups/dev/../staging/x.dump",
        "/etc/passwd",
        "backups/dev/a\x00b",
    ],
)
def test_backup_path_refuses_anything_outside_the_environment_folder(tmp_path, file):
    (tmp_path / "backups" / "dev").mkdir(parents=True)
    catalogue = Catalogue(tmp_path / "backups" / "backups.json", tmp_path)
    with pytest.raises(BackupOutsideFolderError):
        catalogue.backup_path(_entry(file))


def test_backup_path_accepts_the_files_faber_db_writes(tmp_path):
    (tmp_path / "backups" / "dev").mkdir(parents=True)
    catalogue = Catalogue(tmp_path / "backups" / "backups.json", tmp_path)
    expected = (tmp_path / "backups" / "dev" / "x.sqlite3").resolve()
    assert catalogue.backup_path(_entry("backups/dev/x.sqlite3")) == expected
    assert catalogue.backup_path(_entry(str(expected))) == expected
