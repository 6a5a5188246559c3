"""The project the guard corpus (tests/guard_corpus/cases.json) runs against, shared
by tests/unit/test_guard_corpus.py and bench/guard.py."""

from __future__ import annotations

import json
from pathlib import Path

from faber_db import plans
from faber_db.result import Result

REPO_ROOT = Path(__file__).resolve().parent.parent
CORPUS = json.loads((REPO_ROOT / "tests" / "guard_corpus" / "cases.json").read_text())["cases"]
HOOK = REPO_ROOT / "hooks" / "guard.py"
ENVIRON = {
    "PATH": "/usr/bin:/bin",
    "DEV_DATABASE_URL": "sqlite:///dev.db",
    "TEST_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/app_test",
    "STAGING_DATABASE_URL": "postgresql://app:secret@db.staging.example.com:5432/appdb",
    "PROD_DATABASE_URL": "mysql://app:pw@db.prod.example.com:3306/shop",
}
CONFIG = {
    "schema_version": "1.0",
    "database": {"provider": "postgresql", "migration_tool": "prisma"},
    "environments": {
        "dev": {"connection_string_env": "DEV_DATABASE_URL"},
        "test": {"connection_string_env": "TEST_DATABASE_URL"},
        "staging": {"connection_string_env": "STAGING_DATABASE_URL"},
        "production": {"connection_string_env": "PROD_DATABASE_URL"},
        "archive": {
            "connection_string_env": "ARCHIVE_DATABASE_URL",
            "default_url": "sqlite:///data/archive.db",
        },
    },
    "safety": {"protected_environments": ["production", "staging", "archive"]},
}
MIGRATE_PLAN = {
    "operation": "migrate",
    "environment": "production",
    "engine": "mysql",
    "database": "mysql://app@db.prod.example.com:3306/shop",
    "migrations": [{"name": "20240102000000_drop_legacy", "statements": 2}],
    "backup": {
        "take": True,
        "reason": "pre-migration",
        "why": "backup enforcement for production is required",
    },
    "display": {
        "safety": {
            "findings": [
                {
                    "rule": "drop_column",
                    "severity": "danger",
                    "migration": "20240102000000_drop_legacy",
                    "message": "DROP COLUMN orders.legacy deletes that column's data in every row",
                    "impact": {"rows": 1500},
                }
            ]
        }
    },
}
RESTORE_PLAN = {
    "operation": "restore",
    "environment": "production",
    "engine": "mysql",
    "database": "shop",
    "target_database": "shop",
    "backup": {"id": "backup-20240101-000000", "sha256": "ab" * 32},
    "safety_backup": True,
    "migrations_to_remove": ["20240102000000_drop_legacy"],
    "display": {
        "backup": {
            "id": "backup-20240101-000000",
            "timestamp": "2024-01-01T00:00:00Z",
            "age": "3d",
        },
        "tables": [{"table": "orders", "now": 1500, "at_backup": 1200, "change": "300 fewer rows"}],
    },
}

PLAN_IDS = {
    "migrate_plan": plans.plan_id(MIGRATE_PLAN),
    "restore_plan": plans.plan_id(RESTORE_PLAN),
    "tampered": "plan-cccccccccccccccc",
}


def build_corpus_project(root: Path) -> Path:
    """A project protecting production, staging and archive, with faber-db's records."""
    faber = root / ".fractary" / "plugins" / "faber-db"
    (faber / "backups" / "production").mkdir(parents=True)
    (faber / "config.json").write_text(json.dumps(CONFIG, indent=2))
    (faber / "backups" / "production" / "backup-20240101-000000.db").write_bytes(b"SQLite")
    catalogue = {"backups": [{"id": "backup-20240101-000000", "environment": "production"}]}
    (faber / "backups" / "backups.json").write_text(json.dumps(catalogue))
    (faber / "audit.jsonl").write_text("")
    for name, text in {
        "cleanup.sql": "DELETE FROM sessions;\n",
        "dump.sql": "INSERT INTO orders VALUES (1);\n",
        "wipe.sql": "DROP TABLE events;\n",
        "drop.sql": "DROP TABLE users;\n",
        "fake.json": "{}",
        "dev.db": "",
        "src/app.py": "",
        "src/old.py": "",
        "data/archive.db": "",
    }.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    for name, plan in (
        ("migrate_plan", MIGRATE_PLAN),
        ("restore_plan", RESTORE_PLAN),
        ("tampered", MIGRATE_PLAN),
    ):
        plan_id = PLAN_IDS[name]
        result = Result(
            operation=plan["operation"],
            status="approval_required",
            environment="production",
            result={"plan": {**plan, "plan_id": plan_id}, "plan_id": plan_id},
        )
        plans.store_plan(faber / "state", result)
    (root / "app").mkdir()
    (root / "app" / ".env").write_text(f"DATABASE_URL={ENVIRON['STAGING_DATABASE_URL']}\n")
    (root / "records-link").symlink_to(faber / "backups")
    return root


def fill(text: str, root: Path) -> str:
    """The case's text with {root}, {migrate_plan} and {restore_plan} filled in."""
    for name, value in PLAN_IDS.items():
        text = text.replace("{" + name + "}", value)
    return text.replace("{root}", str(root))


def payload_for(case: dict, root: Path) -> dict:
    """The PreToolUse input Claude Code would send for this case."""
    tool = case.get("tool", "Bash")
    if tool == "Bash":
        tool_input = {"command": fill(case["bash"], root)}
    else:
        key = "notebook_path" if tool == "NotebookEdit" else "file_path"
        tool_input = {key: fill(case["path"], root), "content": "x"}
    return {
        "session_id": "test-session",
        "transcript_path": "/tmp/transcript.jsonl",
        "cwd": str(root),
        "permission_mode": "default",
        "hook_event_name": "PreToolUse",
        "tool_name": tool,
        "tool_input": tool_input,
        "tool_use_id": "toolu_1",
    }
