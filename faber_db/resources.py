"""Find the files that ship beside the package: handlers/, schemas/, templates/.

In a checkout or a Claude Code plugin folder they sit at the repository root,
next to faber_db/; an installed wheel carries them in faber_db/_data/.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


@cache
def data_root() -> Path:
    """Directory holding handlers/, schemas/ and templates/."""
    checkout = PACKAGE_DIR.parent
    if (checkout / "handlers").is_dir() and (checkout / "schemas").is_dir():
        return checkout
    return PACKAGE_DIR / "_data"


def handler_script(engine: str, name: str) -> Path:
    """Path of a handler script, e.g. handler_script('postgresql', 'create-backup')."""
    return data_root() / "handlers" / engine / f"{name}.sh"


def template_path(name: str) -> Path:
    """Path of a Jinja2 template."""
    return data_root() / "templates" / name


@cache
def load_schema(name: str) -> dict:
    """Load schemas/<name>.schema.json."""
    with open(data_root() / "schemas" / f"{name}.schema.json", encoding="utf-8") as handle:
        return json.load(handle)


def validation_errors(instance: object, schema_name: str) -> list[str]:
    """Validate against a bundled schema; return readable errors naming each bad key."""
    from jsonschema import Draft202012Validator  # imported lazily: ~50 ms

    validator = Draft202012Validator(load_schema(schema_name))
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    return [f"{_dotted(error.absolute_path) or '(top level)'}: {error.message}" for error in errors]


def _dotted(path) -> str:
    return ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in path).replace(".[", "[")
