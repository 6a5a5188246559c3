"""Backup ids (backup-YYYYMMDD-HHMMSS[-label]) and label/id validation.

Ids become file names, so everything here is strict: a label is normalised
(trimmed, lowercased, spaces to '-') and anything else unusual is refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from faber_db.errors import InvalidInputError

LABEL_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
ID_RE = re.compile(r"^backup-\d{8}-\d{6}(-[a-z0-9][a-z0-9._-]{0,70})?$")
REASONS = ("manual", "pre-migration", "pre-rollback", "pre-restore", "scheduled", "safety")
REASON_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")


def normalise_label(label: str | None) -> str | None:
    """Trim, lowercase and hyphenate a label; refuse path or shell characters."""
    if label is None:
        return None
    cleaned = re.sub(r"\s+", "-", label.strip().lower())
    if not cleaned:
        return None
    if ".." in cleaned or not LABEL_RE.match(cleaned):
        bad = sorted({c for c in cleaned if not re.match(r"[a-z0-9._-]", c)}) or [".."]
        raise InvalidInputError(
            f"Invalid backup label {label!r}: only letters, digits, '.', '_' and '-' are allowed"
            f" (not {' '.join(repr(c) for c in bad)}), at most 63 characters.",
            details={"option": "--label", "valid_value": _valid_label(cleaned)},
        )
    return cleaned


def _valid_label(cleaned: str) -> str | None:
    """The nearest acceptable label (offered as the next command), if any."""
    label = re.sub(r"[^a-z0-9._-]+", "-", cleaned.replace("..", "-"))
    label = re.sub(r"-{2,}", "-", label).strip("-._")[:63]
    return label if LABEL_RE.match(label or "-") else None


def check_reason(reason: str | None) -> str:
    """A reason is free-form but must be a short slug (it is stored and printed)."""
    reason = (reason or "manual").strip().lower().replace(" ", "-")
    if not REASON_RE.match(reason) or ".." in reason:
        raise InvalidInputError(
            f"Invalid reason {reason!r}: use a short slug such as pre-migration.",
            details={"option": "--reason", "valid_value": "manual"},
        )
    return reason


def check_backup_id(backup_id: str) -> str:
    """Refuse anything that is not a well-formed backup id."""
    if not isinstance(backup_id, str) or ".." in backup_id or not ID_RE.match(backup_id):
        raise InvalidInputError(
            f"Invalid backup id {backup_id!r} (expected backup-YYYYMMDD-HHMMSS[-label]).",
            suggestions=["faber-db backups list"],
        )
    return backup_id


def new_backup_id(when: datetime, label: str | None, is_taken: Callable[[str], bool]) -> str:
    """A unique id for a backup started at `when` (UTC); -2, -3... on collision."""
    base = "backup-" + when.strftime("%Y%m%d-%H%M%S") + (f"-{label}" if label else "")
    candidate, counter = base, 1
    while is_taken(candidate):
        counter += 1
        candidate = f"{base}-{counter}"
    return candidate
