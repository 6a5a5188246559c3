"""Backup commands: create, list, show, verify, delete, prune.

Each function returns a Result (or raises a FaberError); cli.py renders it.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from faber_db.approval import Approval
from faber_db.backup_manager import encryption
from faber_db.backup_manager.catalogue import BackupEntry, Catalogue
from faber_db.backup_manager.create import BackupOptions, take_backup
from faber_db.backup_manager.file_verification import Verification, verify_file, verify_sealed
from faber_db.backup_manager.gfs import GfsPolicy
from faber_db.backup_manager.remote.fetch import (
    ensure_local_copy,
    find_remote_entry,
    remote_only_entries,
)
from faber_db.backup_manager.remote.publish import is_remote_verified, remote_state
from faber_db.backup_manager.remote.settings import remote_settings
from faber_db.backup_manager.remote.sync import remove_remote_copies
from faber_db.backup_manager.retention import plan_prune
from faber_db.config import Config, check_environment_name
from faber_db.engines import format_description
from faber_db.errors import BackupNotFoundError, FaberError
from faber_db.exit_codes import ExitStatus
from faber_db.human_text import human_duration, human_size
from faber_db.plans import approval_gate, needs_approval, plan_id
from faber_db.restore_lock import recover_before_backup
from faber_db.result import Progress, Result
from faber_db.timeutil import parse_utc, utcnow
from faber_db.workspace import PARTIAL_RE


def create_backup(
    config: Config, env: str, options: BackupOptions, progress: Progress | None = None
) -> Result:
    """`faber-db backup <env>`: take, verify and record a backup."""
    target = config.resolve(env)
    recovered = recover_before_backup(config, target)
    entry, warnings = take_backup(config, target, options, progress)
    warnings = recovered + warnings
    summary = entry_summary(entry)
    summary["restore_command"] = f"faber-db restore {env} --from {entry.id}"
    remote = entry.extra.get("remote") or {}
    if remote.get("status") == "missing":
        return Result(
            operation="backup",
            status="error",
            environment=env,
            result=summary,
            message=(
                f"Backup {entry.id} of {env} was created and verified locally, but its remote "
                f"copy is missing: {remote.get('error')}"
            ),
            error={"code": "remote_copy_missing", "message": remote.get("error", "")},
            warnings=config.warnings + warnings,
            suggestions=[f"faber-db backups sync {env}  (uploads it once the repository is back)"],
            exit_status=ExitStatus.REMOTE_COPY_MISSING,
        )
    return Result(
        operation="backup",
        environment=env,
        result=summary,
        message=(
            f"Backup {entry.id} of {env} ({target.engine} {target.conn.redacted()}) created and verified: "
            f"{human_size(entry.size_bytes)} in {human_duration(entry.duration_seconds)}."
        ),
        warnings=config.warnings + warnings,
    )


def entry_summary(entry: BackupEntry) -> dict:
    """The entry as shown by backup/list/show (everything, plus readable sizes)."""
    data = entry.to_dict()
    data["backup_id"] = entry.id
    data["size_human"] = human_size(entry.size_bytes)
    data["file_path"] = entry.file
    return data


def list_backups(config: Config, env: str | None = None) -> Result:
    """`faber-db backups list [<env>]`: newest first, with orphan files reported."""
    if env is not None:
        check_environment_name(env)
    catalogue = Catalogue.for_config(config)
    every_entry = catalogue.entries()
    entries = [e for e in every_entry if env is None or e.environment == env]
    remote_only, remote_warnings = _remote_only(config, every_entry, env)
    entries += remote_only
    entries.sort(key=lambda e: (e.timestamp, e.id), reverse=True)
    outside = [problem for e in entries if (problem := catalogue.path_problem(e))]
    only_remote = {e.id for e in remote_only}
    summaries, missing, suggestions = [], [], []
    for entry in entries:
        summary = entry_summary(entry)
        # A stat, no hashing: a file deleted by hand must not be listed as usable.
        summary["file_present"] = catalogue.path_problem(entry) is None and (
            catalogue.backup_path(entry).exists()
        )
        summary["location"] = location(entry, summary["file_present"], entry.id in only_remote)
        if (
            not summary["file_present"]
            and entry.status == "valid"
            and summary["location"] == "local"
        ):
            summary["status"] = "missing"
            missing.append(
                f"{entry.id} is catalogued as valid but its file {entry.file} is missing; "
                "it cannot be restored"
            )
            suggestions = suggestions or [
                f"faber-db backups verify {entry.id}  (records it as missing)",
                f"faber-db backup {entry.environment}  (a new backup to fall back on)",
            ]
        summaries.append(summary)
    warnings = (
        config.warnings
        + outside
        + missing
        + remote_warnings
        + orphan_warnings(config, every_entry, env)
    )
    return Result(
        operation="backups-list",
        environment=env,
        result={"count": len(entries), "backups": summaries},
        message=f"{len(entries)} backup(s)"
        + (f" for {env}" if env else "")
        + (f", {len(missing)} of them missing their file" if missing else ""),
        warnings=warnings,
        suggestions=suggestions,
    )


def _remote_only(
    config: Config, local: list[BackupEntry], env: str | None
) -> tuple[list[BackupEntry], list[str]]:
    """The repository's entries that this catalogue lacks; a warning (not an error)
    when the repository cannot be read, so local backups are still listed."""
    if remote_settings(config) is None:
        return [], []
    try:
        return remote_only_entries(config, local, env)
    except FaberError as error:
        return [], [f"the remote repository could not be listed: {error.message}"]


def location(entry: BackupEntry, file_present: bool, remote_only: bool) -> str:
    """Where a backup's copies are: local, local+remote, remote (the local copy was
    removed, e.g. keep_local: false) or remote-only (another machine's backup)."""
    if remote_only:
        return "remote-only"
    verified = is_remote_verified(entry)
    if file_present:
        return "local+remote" if verified else "local"
    return "remote" if verified else "local"


def orphan_warnings(
    config: Config, entries: list[BackupEntry] | None, env: str | None = None
) -> list[str]:
    """Files in the backups directory (of `env`, or of every environment) that no
    catalogue entry names (interrupted runs)."""
    root = config.backups_dir
    if entries is None or not root.is_dir():
        return []
    catalogue = Catalogue.for_config(config)
    known = {
        catalogue.backup_path(e).resolve() for e in entries if catalogue.path_problem(e) is None
    }
    warnings = []
    env_dirs = [root / env] if env is not None else [d for d in root.iterdir()]
    for env_dir in (d for d in env_dirs if d.is_dir()):
        for child in env_dir.iterdir():
            if child.resolve() not in known and not PARTIAL_RE.match(child.name):
                warnings.append(
                    f"{child} is not in the catalogue (left by an interrupted run?); it is not a usable backup"
                )
    return warnings


def show_backup(config: Config, backup_id: str) -> Result:
    """`faber-db backups show <id>`: the entry, and where each copy is."""
    catalogue = Catalogue.for_config(config)
    entry, remote_only = lookup_entry(config, backup_id)
    summary = entry_summary(entry)
    local_present = (
        not remote_only
        and catalogue.path_problem(entry) is None
        and (catalogue.backup_path(entry).exists())
    )
    summary["location"] = location(entry, local_present, remote_only)
    summary["copies"] = copies(entry, local_present, remote_only)
    where = "; ".join(f"{c['where']} copy {c['state']}" for c in summary["copies"])
    return Result(
        operation="backups-show",
        environment=entry.environment,
        result=summary,
        message=f"{entry.id}: {entry.status}, {human_size(entry.size_bytes)}, "
        f"{format_description(entry.engine, entry.format)}, {entry.compression}"
        + (", age-encrypted" if encryption.is_encrypted(entry) else "")
        + f"; {where}",
    )


def lookup_entry(config: Config, backup_id: str) -> tuple[BackupEntry, bool]:
    """The local entry, or the repository's (then True: remote-only)."""
    try:
        return Catalogue.for_config(config).get(backup_id), False
    except BackupNotFoundError:
        if remote_settings(config) is None:
            raise
    return find_remote_entry(config, backup_id), True


def copies(entry: BackupEntry, local_present: bool, remote_only: bool) -> list[dict]:
    """Each copy of a backup: where it is and whether it was verified."""
    found = []
    if not remote_only:
        state = "present" if local_present else "absent"
        if local_present:
            state += f", verified {entry.verification.get('verified_at', '')}".rstrip(", ")
        found.append(
            {"where": "local", "path": entry.file, "present": local_present, "state": state}
        )
    remote = remote_state(entry)
    if remote:
        state = remote["status"]
        if remote.get("verified_at"):
            state += f" {remote['verified_at']}"
        if remote.get("error"):
            state += f" ({remote['error']})"
        found.append(
            {
                "where": "remote",
                "key": remote.get("key"),
                "present": remote["status"] == "verified",
                "state": state,
            }
        )
    return found


@dataclass
class FileCheck:
    """The outcome of re-checking one backup's file, before it is recorded."""

    catalogue: Catalogue
    entry: BackupEntry
    verification: Verification
    status: str  # valid, invalid (the file fails its checks) or missing
    record: dict  # what the catalogue's `verification` becomes
    warnings: list[str] = field(default_factory=list)

    def record_outcome(self, status: str) -> BackupEntry:
        """Write `status` and `record` into the catalogue; the updated entry."""
        updated = self.catalogue.update_entry(
            self.entry.id, status=status, verification=self.record
        )
        if updated is None:
            raise AssertionError("entry vanished under the catalogue lock")
        return updated


def check_backup_file(config: Config, backup_id: str, need_identity: bool = False) -> FileCheck:
    """Re-run a backup's file checks (sha256, decompression, format); record nothing.
    The last deep verification's record is kept as it was. A backup whose only copy
    is in the remote repository is downloaded first (remote/fetch.py).

    An encrypted backup is decrypted in the check when its identity is named (or
    `need_identity`, which raises when it is not); without it, the stored bytes are
    checked against their sha256. A wrong identity raises DecryptionFailedError
    before anything is recorded: it says nothing about the backup."""
    catalogue = Catalogue.for_config(config)
    entry = ensure_local_copy(config, lookup_entry(config, backup_id)[0])
    path = catalogue.backup_path(entry)
    identity = opened_identity(config, entry, path, need_identity)
    if encryption.is_encrypted(entry) and identity is None:
        verification = verify_sealed(path, entry.sha256, entry.verification)
    else:
        verification = verify_file(
            entry.engine, path, entry.format, entry.compression, entry.sha256, identity
        )
    status = "valid" if verification.passed else ("invalid" if path.exists() else "missing")
    record = verification.to_dict() | {"deep": entry.verification.get("deep")}
    warnings = []
    if verification.decryption == "skipped":
        variable = encryption.identity_env(config)
        warnings.append(
            f"{entry.id} is encrypted and {variable} is not set: the stored bytes match their "
            f"sha256, so they hold the plaintext verified at creation; set {variable} to "
            "decrypt and check it again"
        )
    return FileCheck(catalogue, entry, verification, status, record, warnings)


def opened_identity(
    config: Config, entry: BackupEntry, path: Path, required: bool = True
) -> Path | None:
    """For an encrypted backup: the identity file, checked to be private and to open
    `path` (raises IdentityMissingError / DecryptionFailedError); None for a backup
    that is not encrypted, or when the identity is not named and not `required`."""
    if not encryption.is_encrypted(entry):
        return None
    identity = encryption.identity_path(config, required)
    if identity is not None and path.is_file():
        encryption.check_identity(identity, path, entry.id)
    return identity


def verify_backup(config: Config, backup_id: str) -> Result:
    """`faber-db backups verify <id>`: re-run the file checks and record the outcome.

    --deep (a restore into a scratch database) is the rollback manager's
    (rollback_manager/deep_verification.py).
    """
    check = check_backup_file(config, backup_id)
    return verification_result(check, check.record_outcome(check.status))


def verification_result(check: FileCheck, updated: BackupEntry) -> Result:
    """The Result of `backups verify` once `updated` is recorded."""
    entry = check.entry
    if not check.verification.passed:
        return _verify_failure(
            entry, check.status, check.verification.problems, updated.verification
        )
    return Result(
        operation="backups-verify",
        environment=entry.environment,
        result={
            "backup_id": entry.id,
            "status": check.status,
            "verification": updated.verification,
        },
        message=f"{entry.id} verified: all checks passed",
        warnings=check.warnings,
    )


def _verify_failure(entry: BackupEntry, status: str, problems: list[str], recorded: dict) -> Result:
    problem_text = "; ".join(problems)
    return Result(
        operation="backups-verify",
        status="error",
        environment=entry.environment,
        result={"backup_id": entry.id, "status": status, "verification": recorded},
        message=f"{entry.id} failed verification and is now marked {status}: {problem_text}",
        error={"code": "backup_invalid", "message": problem_text},
        suggestions=[f"Take a new backup: faber-db backup {entry.environment}"],
        exit_status=ExitStatus.BACKUP_INVALID,
    )


def delete_backup(config: Config, backup_id: str, approval: Approval) -> Result:
    """`faber-db backups delete <id>`: removes the file and the entry.

    Needs --yes (or a typed confirmation); on a protected environment, the
    approval of this exact plan (--approve <plan_id>).
    """
    catalogue = Catalogue.for_config(config)
    entry = catalogue.get(backup_id)
    path = catalogue.backup_path(entry)
    plan = {
        "operation": "backups-delete",
        "environment": entry.environment,
        "delete": [{"backup_id": entry.id, "sha256": entry.sha256}],
        "display": {"backups": [entry_summary(entry)]},
    }
    warnings = _last_backup_warnings(catalogue.entries(), entry)
    if warnings:  # part of what is approved: deleting the last way back is a different plan
        plan["last_valid_backup"] = True
        plan["display"]["warnings"] = warnings
    refusal = authorise(config, entry.environment, "backups-delete", plan, approval, entry.id)
    if refusal is not None:
        refusal.warnings += warnings
        return refusal
    with catalogue.update() as entries:
        # Another run may have deleted the other valid backups since the plan was made.
        warnings = warnings or _last_backup_warnings(entries, entry)
        entries[:] = [e for e in entries if e.id != entry.id]
    last_backup = bool(warnings)
    warnings = warnings + remove_backup_file(path) + remove_remote_copies(config, [entry])
    return Result(
        operation="backups-delete",
        environment=entry.environment,
        result={"deleted": [entry.id], "freed_bytes": entry.size_bytes, "plan_id": plan["plan_id"]},
        message=f"Deleted {entry.id} ({human_size(entry.size_bytes)}).",
        warnings=warnings,
        suggestions=[f"faber-db backup {entry.environment}"] if last_backup else [],
    )


def _last_backup_warnings(entries: list[BackupEntry], entry: BackupEntry) -> list[str]:
    """A warning when `entry` is its environment's only valid backup of its database."""
    if entry.status != "valid":
        return []
    others = [
        e
        for e in entries
        if e.id != entry.id
        and e.status == "valid"
        and e.environment == entry.environment
        and e.database == entry.database
    ]
    if others:
        return []
    return [
        f"{entry.id} is the only valid backup of {entry.environment} ({entry.database}): "
        f"without it there is no backup to roll back to (take one first: faber-db backup {entry.environment})"
    ]


def prune_backups(config: Config, env: str | None, approval: Approval) -> Result:
    """`faber-db backups prune [<env>]`: apply retention; a dry run unless approved.
    The remote copies of pruned backups are deleted too."""
    if env is not None:
        check_environment_name(env)
    catalogue = Catalogue.for_config(config)
    safety_days = config.section("backup").get("safety_retention_days", 90)
    gfs = GfsPolicy.from_config(config.section("backup").get("retention"))
    decisions = plan_prune(catalogue.entries(), utcnow(), config.min_keep, safety_days, env, gfs)
    doomed = [d.entry for d in decisions if d.delete]
    for entry in doomed:  # refuses an entry outside its folder before anything is deleted
        catalogue.backup_path(entry)
    plan = {
        "operation": "backups-prune",
        "environment": env,
        "delete": [{"backup_id": d.entry.id, "reason": d.reason} for d in decisions if d.delete],
        "display": {
            "keep": [
                {"backup_id": d.entry.id, "reason": d.reason} for d in decisions if not d.delete
            ],
            "freed_bytes": sum(e.size_bytes for e in doomed),
        },
    }
    if not doomed:
        plan["plan_id"] = plan_id(plan)
        return _prune_result(env, plan, [], "Nothing to prune.")
    # Deleting a protected environment's backups needs its plan approved, even
    # when pruning every environment at once.
    protected = sorted(
        {e.environment for e in doomed if needs_approval(config, e.environment, "backups-prune")}
    )
    refusal = authorise(
        config, protected[0] if protected else env, "backups-prune", plan, approval, "prune"
    )
    if refusal is not None:
        refusal.environment = env
        if refusal.status == "approval_required" and not (approval.yes or approval.approve):
            refusal.status, refusal.exit_status = "dry_run", None
            refusal.message = (
                f"Dry run: {len(doomed)} backup(s) would be deleted. " + refusal.message
            )
        refusal.result["deleted"] = []
        return refusal
    removed, warnings = delete_expired(config, env, {e.id for e in doomed})
    result = _prune_result(env, plan, removed, f"Pruned {len(removed)} backup(s).")
    result.warnings = warnings
    return result


def delete_expired(
    config: Config, env: str | None, allowed: set[str] | None = None
) -> tuple[list[str], list[str]]:
    """Delete what retention lets go (of `env`, or every environment), limited to the
    ids in `allowed` when given (the approved plan); returns (deleted ids, warnings).
    Their remote copies (backup.remote) are deleted too.
    The caller has the person's consent: an approved prune, or `backup.auto_cleanup`."""
    catalogue = Catalogue.for_config(config)
    safety_days = config.section("backup").get("safety_retention_days", 90)
    gfs = GfsPolicy.from_config(config.section("backup").get("retention"))
    with catalogue.update() as entries:
        # Decided under the lock: a backup taken meanwhile may change who is newest.
        fresh = plan_prune(entries, utcnow(), config.min_keep, safety_days, env, gfs)
        doomed_ids = {d.entry.id for d in fresh if d.delete}
        if allowed is not None:
            doomed_ids &= allowed
        removed = [e for e in entries if e.id in doomed_ids]
        paths = {e.id: catalogue.backup_path(e) for e in removed}  # refuses before deleting
        entries[:] = [e for e in entries if e.id not in doomed_ids]
    warnings = [w for entry in removed for w in remove_backup_file(paths[entry.id])]
    warnings += remove_remote_copies(config, removed)
    return [e.id for e in removed], warnings


def _prune_result(env: str | None, plan: dict, deleted: list[str], message: str) -> Result:
    """Every prune result has the same shape: the plan, its id, what was deleted."""
    return Result(
        operation="backups-prune",
        environment=env,
        result={"plan": plan, "plan_id": plan["plan_id"], "deleted": deleted},
        message=message,
    )


def remove_backup_file(path: Path) -> list[str]:
    """Delete a backup file or directory (a path from Catalogue.backup_path) if it is
    still there; a symlink is removed itself, never what it points to. Returns
    warnings: the entry is already gone, so a file that cannot be removed is reported
    (and listed as an orphan afterwards), not raised."""
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    except OSError as exc:
        return [f"the entry is removed but {path} could not be deleted ({exc}); delete it by hand"]
    return []


def authorise(
    config: Config, env: str | None, operation: str, plan: dict, approval: Approval, answer: str
) -> Result | None:
    """None to proceed; otherwise the approval_required Result (plan and plan_id).

    Protected environments go through the plan-bound gate (--approve <plan_id>
    or typing the environment's name); elsewhere --yes or typing `answer` will do.
    """
    if needs_approval(config, env, operation):
        return approval_gate(config, env, operation, plan, approval)
    plan["plan_id"] = plan_id(plan)
    if approval.yes or approval.approve == plan["plan_id"]:
        return None
    if approval.ask(
        operation, env, plan, f"{operation} on '{env or 'every environment'}'.", answer
    ):
        return None
    return Result(
        operation=operation,
        status="approval_required",
        environment=env,
        result={"plan": plan, "plan_id": plan["plan_id"]},
        message=f"{operation} needs confirmation: re-run with --yes once a person has agreed.",
        suggestions=[
            "Show this plan to a person; only if they agree, re-run the same command with --yes"
        ],
    )


def backup_age_seconds(entry: BackupEntry) -> float:
    """How old a backup is, in seconds."""
    return (utcnow() - parse_utc(entry.timestamp)).total_seconds()
