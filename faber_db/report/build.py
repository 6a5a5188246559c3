"""Render the report to its HTML file and describe it as a Result."""

from __future__ import annotations

from pathlib import Path

from faber_db import __version__
from faber_db.config import CONFIG_DIR, Config
from faber_db.errors import InvalidInputError, ReportWriteError
from faber_db.fsutil import atomic_write
from faber_db.human_text import human_duration, human_size
from faber_db.report.charts import REMOTE_OK, timeline_chart
from faber_db.report.collect import collect_report
from faber_db.report.model import Report
from faber_db.resources import template_path
from faber_db.result import Result
from faber_db.timeutil import format_utc

DEFAULT_OUTPUT = "faber-db-report.html"
TEMPLATE = "report.html.j2"
# In the template's <head>: what marks a file as one a report may overwrite.
GENERATOR_MARK = b'<meta name="generator" content="faber-db report">'


def write_report(config: Config, env: str | None, output: str | None, probe: bool = True) -> Result:
    """Collect, render and atomically write the page; unreachable databases and
    unreadable sources are notes on the page and warnings here, never failures."""
    path = output_path(config, output)
    report = collect_report(config, env, probe)
    page = render_page(report)
    try:
        atomic_write(path, page.encode("utf-8"))
    except OSError as error:
        raise ReportWriteError(
            f"Could not write the report to {path}: {error.strerror or error}. Nothing was written.",
            suggestions=["faber-db report --output <a writable path>.html"],
        ) from error
    return report_result(report, env, path, len(page.encode("utf-8")))


def output_path(config: Config, output: str | None) -> Path:
    """Where the page goes: --output, or faber-db-report.html in the current directory.

    Refused: a directory, a path inside faber-db's own folders or the migrations
    (the catalogue, the trail, backups, plans), and an existing file that is not a
    report faber-db wrote: a report never overwrites anything else."""
    path = Path(output or DEFAULT_OUTPUT).expanduser().absolute()
    if path.is_dir() or not path.name:
        raise InvalidInputError(
            f"--output {output!r} is a directory; name the file to write.",
            suggestions=[f"faber-db report --output {path / DEFAULT_OUTPUT}"],
        )
    where = path.parent.resolve() / path.name
    if any(_inside(where, folder) for folder in _kept_folders(config)) or where in _kept_files(
        config
    ):
        raise InvalidInputError(
            f"--output {where} is inside faber-db's own files or the migrations; "
            "nothing was written.",
            suggestions=[f"faber-db report --output {DEFAULT_OUTPUT}"],
        )
    if where.exists() and not _is_report(where):
        raise InvalidInputError(
            f"{where} exists and is not a faber-db report; it was left as it is.",
            suggestions=["faber-db report --output <a new file>.html"],
        )
    return where


def _kept_folders(config: Config) -> list[Path]:
    folders = [config.project_path(str(CONFIG_DIR)), config.backups_dir, config.state_dir]
    return [folder.resolve() for folder in [*folders, config.migrations_dir]]


def _kept_files(config: Config) -> set[Path]:
    trail = config.audit_path.resolve()
    files = {trail, trail.with_name(trail.name + ".head")}
    return files | ({config.path.resolve()} if config.path else set())


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _is_report(path: Path) -> bool:
    """Whether an existing file is a page this command wrote (its generator mark)."""
    try:
        with open(path, "rb") as handle:
            return GENERATOR_MARK in handle.read(2048)
    except OSError:
        return False


def render_page(report: Report) -> str:
    """The self-contained HTML page (autoescaped: every value from data is text)."""
    from jinja2 import Environment, select_autoescape

    jinja = Environment(autoescape=select_autoescape(default=True), keep_trailing_newline=True)
    jinja.filters.update(utc=format_utc, size=human_size, duration=human_duration)
    template = jinja.from_string(template_path(TEMPLATE).read_text(encoding="utf-8"))
    return template.render(
        report=report,
        charts={env.name: timeline_chart(env) for env in report.environments},
        remote_ok=REMOTE_OK,
        version=__version__,
    )


def report_result(report: Report, env: str | None, path: Path, size: int) -> Result:
    """What was written: the path and each environment's counts."""
    summary = [
        {
            "name": e.name,
            "backups": len(e.backups),
            "migrations": len(e.migrations),
            "restores_and_rollbacks": len(e.events),
            "database": _database_state(e),
            "health": e.health is not None,
            "drift": e.drift is not None,
        }
        for e in report.environments
    ]
    return Result(
        operation="report",
        environment=env,
        result={
            "path": str(path),
            "size_bytes": size,
            "audit_chain_ok": report.chain.ok,
            "environments": summary,
        },
        message=f"Report of {len(summary)} environment(s) written to {path} ({human_size(size)}).",
        warnings=list(report.warnings),
    )


def _database_state(env) -> str:
    if not env.configured:
        return "not configured"
    if env.tracking is None:
        return "not read"
    return "reachable" if env.tracking.reachable else "unreachable"
