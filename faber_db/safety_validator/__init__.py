"""Destructive and dangerous-operation detection for migration scripts.

``analyze_script`` (sqlglot-based) finds the problems, ``evaluate_policy``
weighs them against the config, ``estimate_impact`` adds live numbers through
a probe. The analyzer is imported lazily so that policy checks and the CLI do
not pay for loading sqlglot.
"""

from __future__ import annotations

from typing import Any

from faber_db.safety_validator.findings import RULES, SEVERITIES, Finding

__all__ = [
    "RULES",
    "SEVERITIES",
    "Finding",
    "PolicyDecision",
    "analyze_script",
    "estimate_impact",
    "evaluate_policy",
]

_LAZY = {
    "analyze_script": "faber_db.safety_validator.analyzer",
    "evaluate_policy": "faber_db.safety_validator.policy",
    "PolicyDecision": "faber_db.safety_validator.policy",
    "estimate_impact": "faber_db.safety_validator.impact",
}


def __getattr__(name: str) -> Any:
    """Import the module that defines name on first use."""
    if name not in _LAZY:
        raise AttributeError(f"module 'faber_db.safety_validator' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_LAZY[name]), name)
