"""`faber-db check` and the safety policy inside `migrate`: impact figures from
the live database, plan-bound approvals, blocked operations, forced backups."""

from __future__ import annotations

import json

import pytest
from migration_support import (
    applied_names,
    configure,
    migrations_dir,
    table_names,
    write_migrations,
)
from support import Project, basic_config

from faber_db.approval import Approval
from faber_db.config import load_config
from faber_db.migration_deployer.deploy import DeployOptions, deploy

SETUP = [
    "CREATE TABLE victims (id INTEGER PRIMARY KEY, v VARCHAR(20))",
    "CREATE TABLE people (id INTEGER PRIMARY KEY, nickname VARCHAR(50))",
    "CREATE TABLE emails (id INTEGER PRIMARY KEY, addr VARCHAR(50))",
]
DESTRUCTIVE = {
    "postgresql": "DROP TABLE victims;\nDELETE FROM people;\nALTER TABLE people ALTER COLUMN nickname SET NOT NULL;\n"
    "ALTER TABLE emails ADD CONSTRAINT emails_addr_key UNIQUE (addr);\n",
    "mysql": "DROP TABLE victims;\nDELETE FROM people;\nALTER TABLE people MODIFY nickname VARCHAR(50) NOT NULL;\n"
    "ALTER TABLE emails ADD CONSTRAINT emails_addr_key UNIQUE (addr);\n",
    "sqlite": "DROP TABLE victims;\nDELETE FROM people;\nCREATE UNIQUE INDEX emails_addr_key ON emails (addr);\n",
}
UNIQUE_RULE = {
    "postgresql": "add_unique_constraint",
    "mysql": "add_unique_constraint",
    "sqlite": "create_unique_index",
}


def applied(database) -> list[str]:
    """Applied migrations; none when faber-db never created the tracking table."""
    return applied_names(database) if "_prisma_migrations" in table_names(database) else []


def seed(database) -> None:
    statements = list(SETUP)
    statements += [f"INSERT INTO victims (id, v) VALUES ({i}, 'x')" for i in range(1, 38)]
    statements += [
        f"INSERT INTO people (id, nickname) VALUES ({i}, {'NULL' if i <= 5 else repr(f'n{i}')})"
        for i in range(1, 13)
    ]
    addresses = ["a", "a", "a", "b", "b", "c"]
    statements += [
        f"INSERT INTO emails (id, addr) VALUES ({i}, '{a}')" for i, a in enumerate(addresses, 1)
    ]
    database.script(statements)


def test_impact_figures_match_the_live_data(project):
    engine = project.database.engine
    seed(project.database)
    configure(project, engine)
    write_migrations(project, {"20250101000000_cleanup": DESTRUCTIVE[engine]}, engine)
    code, out = project.run_json("check", "dev")
    assert code == 0, out
    by_rule = {f["rule"]: f for f in out["result"]["findings"]}
    assert by_rule["drop_table"]["impact"]["rows"] == 37
    assert by_rule["delete_without_where"]["impact"]["rows"] == 12
    assert by_rule[UNIQUE_RULE[engine]]["impact"]["duplicates"] == 3
    if engine != "sqlite":
        assert by_rule["set_not_null"]["impact"]["nulls"] == 5
    assert by_rule["drop_table"]["line"] == 1 and by_rule["delete_without_where"]["line"] == 2
    assert out["result"]["summary"]["danger"] >= 2


def production_project(tmp_path, url: str, **safety) -> Project:
    project = Project(tmp_path / "project", {"FABER_TEST_PROD_URL": url})
    project.root.mkdir()
    config = basic_config(production="FABER_TEST_PROD_URL")
    config["safety"].update(safety)
    project.write_config(config)
    return project


@pytest.fixture
def production(tmp_path, make_database):
    database = make_database("sqlite")
    project = production_project(tmp_path, database.url)
    project.database = database
    configure(project, "sqlite")
    write_migrations(
        project,
        {"20250101000000_init": "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);\n"},
        "sqlite",
    )
    return project


def test_dry_run_plan_id_approves_exactly_that_run(production):
    code, out = production.run_json("migrate", "production", "--dry-run")
    assert code == 0 and out["status"] == "dry_run"
    plan_id = out["result"]["plan_id"]
    code, out = production.run_json("migrate", "production", "--yes")
    assert (
        code == 14
        and out["status"] == "approval_required"
        and "--yes is not enough" in out["message"]
    )
    assert applied(production.database) == []
    code, out = production.run_json("migrate", "production", "--approve", plan_id)
    assert code == 0, out
    assert applied(production.database) == ["20250101000000_init"]
    audit = [
        json.loads(line)
        for line in (production.config_dir / "audit.jsonl").read_text().splitlines()
    ]
    assert audit[-1]["plan_id"] == plan_id and audit[-1]["result"] == "success"


def test_a_new_migration_after_the_dry_run_voids_the_approval(production):
    code, out = production.run_json("migrate", "production", "--dry-run")
    old_plan = out["result"]["plan_id"]
    write_migrations(
        production, {"20250102000000_more": "ALTER TABLE t ADD COLUMN w TEXT;\n"}, None
    )
    code, out = production.run_json("migrate", "production", "--approve", old_plan)
    assert code == 14 and out["status"] == "approval_required"
    assert "no longer matches" in out["message"] and out["result"]["plan_id"] != old_plan
    assert [m["name"] for m in out["result"]["plan"]["migrations"]] == [
        "20250101000000_init",
        "20250102000000_more",
    ]
    assert applied(production.database) == [] and "t" not in table_names(production.database)


def test_an_edited_migration_after_the_dry_run_voids_the_approval(production):
    code, out = production.run_json("migrate", "production", "--dry-run")
    path = migrations_dir(production) / "20250101000000_init" / "migration.sql"
    path.write_text(path.read_text() + "CREATE TABLE sneaky (id INTEGER);\n")
    code, out = production.run_json("migrate", "production", "--approve", out["result"]["plan_id"])
    assert code == 14 and "sneaky" not in table_names(production.database)


@pytest.mark.postgresql
@pytest.mark.parametrize("statement", ["DROP DATABASE other;", "DROP SCHEMA audit;"])
def test_blocked_operations_stop_even_with_approval(tmp_path, make_database, statement):
    database = make_database("postgresql")
    project = production_project(tmp_path, database.url)
    configure(project, "postgresql")
    write_migrations(
        project,
        {"20250101000000_danger": f"CREATE TABLE kept (id INT);\n{statement}\n"},
        "postgresql",
    )
    code, out = project.run_json("migrate", "production", "--dry-run")
    assert code == 19 and out["status"] == "dry_run" and "BLOCKS" in out["message"]
    code, out = project.run_json("migrate", "production", "--approve", out["result"]["plan_id"])
    assert code == 19 and out["error"]["code"] == "blocked_by_policy"
    assert applied(database) == [] and "kept" not in table_names(database)
    code, out = project.run_json("check", "production")
    assert code == 19


def test_require_backup_rule_forces_a_backup_and_refuses_no_backup(tmp_path, make_database):
    database = make_database("sqlite")
    project = Project(tmp_path / "project", {"FABER_TEST_DEV_URL": database.url})
    project.root.mkdir()
    config = basic_config(dev="FABER_TEST_DEV_URL")
    config["safety"]["destructive_operations"] = {
        "drop_table": {"allowed": True, "require_backup": True}
    }
    config["safety"]["backup_enforcement"] = {"dev": "optional"}
    project.write_config(config)
    configure(project, "sqlite")
    write_migrations(
        project,
        {"20250101000000_init": "CREATE TABLE doomed (id INTEGER PRIMARY KEY);\n"},
        "sqlite",
    )
    assert project.run_json("migrate", "dev")[0] == 0
    assert project.catalogue()["backups"] == []  # nothing destructive, no backup asked for
    database.script(["INSERT INTO doomed VALUES (1)"])
    write_migrations(project, {"20250102000000_drop": "DROP TABLE doomed;\n"}, None)
    code, out = project.run_json("migrate", "dev", "--no-backup")
    assert code == 19 and "requires a backup" in out["message"]
    code, out = project.run_json("migrate", "dev")
    assert code == 0, out
    backup_id = out["result"]["pre_migration_backup_id"]
    manifest = project.catalogue()["backups"][0]["manifest"]["tables"]
    assert backup_id and manifest["doomed"] == 1


def test_enhanced_approval_makes_the_person_type_each_object(tmp_path, make_database, monkeypatch):
    database = make_database("sqlite")
    project = production_project(tmp_path, database.url)
    configure(project, "sqlite")
    write_migrations(
        project,
        {"20250101000000_init": "CREATE TABLE ledger (id INTEGER PRIMARY KEY);\n"},
        "sqlite",
    )
    monkeypatch.setenv("FABER_TEST_PROD_URL", database.url)
    config = load_config(start=project.root)
    assert (
        deploy(config, "production", DeployOptions(), Approval(confirm=lambda q, a: True)).status
        == "success"
    )
    database.script(["INSERT INTO ledger VALUES (1)"])
    write_migrations(project, {"20250102000000_drop": "DROP TABLE ledger;\n"}, None)
    asked = []

    def person(answers):
        def confirm(question, expected):
            asked.append(expected)
            return answers.get(expected, False)

        return confirm

    result = deploy(
        config, "production", DeployOptions(), Approval(confirm=person({"production": True}))
    )
    assert result.status == "approval_required" and asked == ["production", "ledger"]
    assert "ledger" in table_names(database)
    asked.clear()
    result = deploy(
        config,
        "production",
        DeployOptions(),
        Approval(confirm=person({"production": True, "ledger": True})),
    )
    assert result.status == "success" and asked == ["production", "ledger"]
    assert "ledger" not in table_names(database)


def test_validator_can_be_switched_off(production):
    config = json.loads((production.config_dir / "config.json").read_text())
    config["safety"]["validate_destructive_operations"] = False
    production.write_config(config)
    code, out = production.run_json("check", "production")
    assert code == 0 and out["result"]["skipped"]


def test_deleting_a_protected_backup_needs_the_plan_approved(production):
    code, out = production.run_json("backup", "production")
    backup_id = out["result"]["backup_id"]
    code, out = production.run_json("backups", "delete", backup_id, "--yes")
    assert code == 14 and out["status"] == "approval_required"
    code, out = production.run_json(
        "backups", "delete", backup_id, "--approve", out["result"]["plan_id"]
    )
    assert code == 0 and production.catalogue()["backups"] == []


# --- dropped objects and what depends on them --------------------------------------------

OBJECT_SETUP = {
    "postgresql": [
        "CREATE TYPE mood AS ENUM ('happy', 'sad')",
        "CREATE TYPE spare AS ENUM ('x')",
        "CREATE TABLE people (id INTEGER PRIMARY KEY, m mood, history mood[])",
        "CREATE VIEW happy_people AS SELECT id FROM people WHERE m = 'happy'",
        "CREATE VIEW happy_count AS SELECT count(*) AS n FROM happy_people",
        "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$",
        "CREATE TRIGGER people_touch BEFORE UPDATE ON people FOR EACH ROW EXECUTE FUNCTION touch()",
    ],
    "mysql": [
        "CREATE TABLE people (id INTEGER PRIMARY KEY, m VARCHAR(10))",
        "CREATE VIEW happy_people AS SELECT id FROM people WHERE m = 'happy'",
        "CREATE VIEW happy_count AS SELECT count(*) AS n FROM happy_people",
        "CREATE TRIGGER people_touch BEFORE UPDATE ON people FOR EACH ROW SET NEW.m = NEW.m",
        "CREATE FUNCTION double_it(x INT) RETURNS INT DETERMINISTIC RETURN x * 2",
        "CREATE VIEW doubled AS SELECT double_it(id) AS d FROM people",
    ],
    "sqlite": [
        "CREATE TABLE people (id INTEGER PRIMARY KEY, m TEXT)",
        "CREATE VIEW happy_people AS SELECT id FROM people WHERE m = 'happy'",
        "CREATE TRIGGER people_touch BEFORE UPDATE ON people BEGIN SELECT 1; END",
    ],
}
OBJECT_DROPS = {
    "postgresql": "DROP VIEW happy_people;\nDROP TYPE mood;\nDROP TYPE spare;\n"
    "DROP FUNCTION touch() CASCADE;\nDROP TRIGGER people_touch ON people;\n",
    "mysql": "DROP VIEW happy_people;\nDROP TRIGGER people_touch;\nDROP FUNCTION double_it;\n",
    "sqlite": "DROP VIEW happy_people;\nDROP TRIGGER people_touch;\n",
}


def test_dropped_objects_are_flagged_with_their_live_dependants(project):
    engine = project.database.engine
    project.database.script(OBJECT_SETUP[engine])
    configure(project, engine)
    write_migrations(project, {"20250101000000_drop_objects": OBJECT_DROPS[engine]}, engine)
    code, out = project.run_json("check", "dev")
    assert code == 0, out
    found = {(f["rule"], f["object"]): f for f in out["result"]["findings"]}
    view = found[("drop_view", "happy_people")]
    trigger = found[("drop_trigger", "people_touch")]
    assert view["severity"] == "warning" and trigger["severity"] == "warning"
    assert trigger["impact"]["dependants"] == ["table people"]
    if engine == "sqlite":  # SQLite records no dependencies between views
        assert view["impact"] is None
        return
    assert view["impact"]["dependants"] == ["view happy_count"]
    assert "happy_count" in view["message"]
    if engine == "postgresql":
        used = found[("drop_type", "mood")]
        assert used["severity"] == "danger"
        assert used["impact"]["dependants"] == [
            "column people.history",
            "column people.m",
            "view happy_people",
        ]
        unused = found[("drop_type", "spare")]
        assert unused["severity"] == "warning" and unused["impact"] == {"dependants": []}
        function = found[("drop_function", "touch")]
        assert function["severity"] == "danger"
        assert function["impact"]["dependants"] == ["trigger people_touch on people"]
    if engine == "mysql":
        function = found[("drop_function", "double_it")]
        assert function["severity"] == "warning"
        assert function["impact"]["dependants"] == ["view doubled"]


def test_dropped_objects_that_do_not_exist_have_unknown_dependants(project):
    engine = project.database.engine
    configure(project, engine)
    write_migrations(project, {"20250101000000_drop": OBJECT_DROPS[engine]}, engine)
    code, out = project.run_json("check", "dev")
    assert code == 0, out
    assert out["result"]["findings"]
    assert all(f["impact"] is None for f in out["result"]["findings"])
    assert all(f["severity"] in ("warning", "danger") for f in out["result"]["findings"])


@pytest.mark.parametrize(
    ("script", "heading"),
    [
        (
            "DROP TABLE victims;\nDELETE FROM people;\nDROP TABLE emails;\nDROP TABLE people;\n",
            "DANGER",
        ),
        ("DROP VIEW old_people;\n", "WARNING"),
        ("CREATE TABLE fresh (id INTEGER PRIMARY KEY);\n", "OK"),
    ],
)
def test_check_text_is_headed_by_the_worst_finding(tmp_path, make_database, script, heading):
    database = make_database("sqlite")
    seed(database)
    database.script(["CREATE VIEW old_people AS SELECT id FROM people"])
    project = Project(tmp_path / "project", {"FABER_TEST_DEV_URL": database.url})
    project.root.mkdir()
    project.write_config(basic_config(dev="FABER_TEST_DEV_URL"))
    configure(project, "sqlite")
    write_migrations(project, {"20250101000000_change": script}, "sqlite")
    output = project.run("check", "dev")
    assert output.returncode == 0, output.stderr
    first = output.stdout.splitlines()[0]
    assert first.startswith(f"{heading}: 1 pending migration(s) on dev"), output.stdout
    if heading == "DANGER":
        assert first.endswith("4 danger.") and "OK" not in first


TABLE_DEPENDANTS = {
    "postgresql": ["trigger people_touch", "view happy_people"],
    "mysql": ["trigger people_touch", "view doubled", "view happy_people"],
    "sqlite": ["trigger people_touch"],  # SQLite records no view dependencies
}


def test_drop_table_names_the_triggers_and_views_that_go_with_it(project):
    engine = project.database.engine
    project.database.script(OBJECT_SETUP[engine])
    configure(project, engine)
    write_migrations(project, {"20250101000000_drop": "DROP TABLE people;\n"}, engine)
    code, out = project.run_json("check", "dev")
    assert code == 0, out
    (finding,) = out["result"]["findings"]
    assert finding["rule"] == "drop_table" and finding["impact"]["rows"] == 0
    assert sorted(finding["impact"]["dependants"]) == TABLE_DEPENDANTS[engine]
    assert "trigger people_touch" in finding["message"]


def test_check_heading_follows_the_worst_severity():
    from faber_db.cli.safety_commands import check_heading
    from faber_db.result import Result

    def heading(status="success", **summary):
        return check_heading(Result("check", status=status, result={"summary": summary}))

    assert heading(blocked=1, danger=2) == "BLOCKED"
    assert heading(danger=4, warning=1) == "DANGER"
    assert heading(warning=1, info=3) == "WARNING"
    assert heading(info=2) is None and heading() is None  # render prints OK
    assert heading(status="error", danger=1) is None  # render prints ERROR
