"""Config discovery, validation and environment resolution."""

from __future__ import annotations

import json

import pytest

from faber_db.config import load_config
from faber_db.errors import (
    ConfigInvalidError,
    ConfigNotFoundError,
    InvalidInputError,
    MissingEnvVarError,
    UnknownEnvironmentError,
    UnsupportedUrlError,
)
from faber_db.project_init import init_project

ORIGINAL_FORMAT = {
    "schema_version": "1.0",
    "database": {"provider": "postgresql", "migration_tool": "prisma"},
    "environments": {
        "dev": {"connection_string_env": "DEV_DATABASE_URL", "backup_before_migrate": False},
        "production": {
            "connection_string_env": "PROD_DATABASE_URL",
            "backup_before_migrate": True,
            "require_approval": True,
        },
    },
    "migrations": {"directory": "prisma/migrations", "table": "_prisma_migrations"},
    "safety": {
        "protected_environments": ["production", "staging"],
        "backup_enforcement": {"production": "required", "dev": "optional"},
        "destructive_operations": {
            "drop_table": {"allowed": True, "approval": "enhanced", "require_backup": True},
            "drop_database": {"allowed": False, "block_reason": "Never allowed via automation"},
        },
    },
    "backup": {"retention_days": 30},
}

# The original plugin's full example (config/faber-db.example.json), with its extra keys.
ORIGINAL_EXAMPLE = {
    **ORIGINAL_FORMAT,
    "database": {"provider": "postgresql", "hosting": "aws-aurora", "migration_tool": "prisma"},
    "environments": {
        "dev": {
            "connection_string_env": "DEV_DATABASE_URL",
            "auto_migrate": True,
            "backup_before_migrate": False,
        },
        "staging": {
            "connection_string_env": "STAGING_DATABASE_URL",
            "auto_migrate": False,
            "backup_before_migrate": True,
            "region": "eu-west-1",
        },
    },
    "migrations": {
        "directory": "prisma/migrations",
        "table": "_prisma_migrations",
        "timeout_seconds": 300,
    },
    "safety": {
        **ORIGINAL_FORMAT["safety"],
        "require_approval_for": ["migrate", "rollback", "seed"],
        "max_auto_rollback_attempts": 1,
        "health_check_before_deploy": True,
        "validate_destructive_operations": True,
        "approval_timeouts": {"standard": 300, "enhanced": 600},
    },
    "backup": {
        "provider": "aws-rds-snapshot",
        "retention_days": 30,
        "backup_before_destructive_ops": True,
    },
    "integration": {"cloud_plugin": "fractary-faber-cloud", "logs_plugin": "fractary-logs"},
    "faber_integration": {"enabled": True, "phase_hooks": {"post_frame": {"enabled": True}}},
}


def write(root, config, name="config.json"):
    directory = root / ".fractary" / "plugins" / "faber-db"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(json.dumps(config) if name.endswith(".json") else config)
    return path


@pytest.mark.parametrize("config", [ORIGINAL_FORMAT, ORIGINAL_EXAMPLE])
def test_original_plugin_format_loads_unchanged(tmp_path, config):
    write(tmp_path, config)
    loaded = load_config(start=tmp_path)
    assert loaded.warnings == []
    assert (
        loaded.is_protected("production")
        and loaded.is_protected("staging")
        and not loaded.is_protected("dev")
    )
    assert loaded.backup_enforcement("production") == "required"
    assert loaded.migrations_table == "_prisma_migrations"


def test_found_by_walking_up(tmp_path):
    write(tmp_path, ORIGINAL_FORMAT)
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    assert load_config(start=nested).project_root == tmp_path


def test_explicit_path_and_missing_config(tmp_path):
    path = write(tmp_path, ORIGINAL_FORMAT)
    assert load_config(explicit=path).path == path
    with pytest.raises(ConfigNotFoundError):
        load_config(explicit=tmp_path / "nope.json")


def test_bad_key_is_named(tmp_path):
    write(tmp_path, {**ORIGINAL_FORMAT, "backup": {"retention_days": "thirty"}})
    with pytest.raises(ConfigInvalidError) as raised:
        load_config(start=tmp_path)
    assert "backup.retention_days" in raised.value.message


def test_typo_is_a_warning(tmp_path):
    write(tmp_path, {**ORIGINAL_FORMAT, "backup": {"retention_dayz": 3}})
    assert load_config(start=tmp_path).warnings == [
        "config.json: unknown key 'backup.retention_dayz' is ignored"
    ]


def test_yaml_and_broken_files(tmp_path):
    write(tmp_path, "environments:\n  dev:\n    default_url: sqlite:///dev.db\n", "config.yaml")
    assert load_config(start=tmp_path).resolve("dev").engine == "sqlite"
    write(tmp_path, "environments: [unclosed", "config.yaml")
    with pytest.raises(ConfigInvalidError):
        load_config(start=tmp_path)


def test_environment_resolution(tmp_path, monkeypatch):
    write(tmp_path, ORIGINAL_FORMAT)
    config = load_config(start=tmp_path)
    monkeypatch.delenv("PROD_DATABASE_URL", raising=False)
    with pytest.raises(MissingEnvVarError) as missing:
        config.resolve("production")
    assert "PROD_DATABASE_URL" in missing.value.message
    with pytest.raises(UnknownEnvironmentError):
        config.resolve("qa")
    with pytest.raises(InvalidInputError):
        config.resolve("../etc")
    monkeypatch.setenv("PROD_DATABASE_URL", "oracle://x@y/z")
    with pytest.raises(UnsupportedUrlError):
        config.resolve("production")
    monkeypatch.setenv("PROD_DATABASE_URL", "postgresql://app:pw@db:5432/app")
    assert config.resolve("production").conn.database == "app"


def test_init_writes_a_valid_commented_config_that_works_without_variables(tmp_path, monkeypatch):
    monkeypatch.delenv("DEV_DATABASE_URL", raising=False)
    init_project(tmp_path)
    text = (tmp_path / ".fractary/plugins/faber-db/config.yaml").read_text()
    assert text.count("#") > 10
    config = load_config(start=tmp_path)
    assert config.warnings == []
    assert config.resolve("dev").conn.database == str(tmp_path / "dev.db")
    with pytest.raises(Exception, match="already exists"):
        init_project(tmp_path)


def test_init_detects_a_prisma_project(tmp_path):
    (tmp_path / "prisma" / "migrations").mkdir(parents=True)
    (tmp_path / "prisma" / "schema.prisma").write_text(
        'generator client {\n  provider = "prisma-client-js"\n}\n'
        'datasource db {\n  provider = "postgresql"\n  url      = env("DATABASE_URL")\n}\n'
    )
    result = init_project(tmp_path)
    assert result.result["provider"] == "postgresql" and result.result["prisma_detected"]
    config = load_config(start=tmp_path)
    assert config.environments["dev"]["connection_string_env"] == "DATABASE_URL"
    assert "default_url" not in config.environments["dev"]
