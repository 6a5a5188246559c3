"""The test suite itself: it runs from any clone on any machine, and its markers
select what a machine without the database servers can run."""

from __future__ import annotations

import re
import subprocess
import sys

from support import REPO_ROOT

# Paths that exist only on the machine the suite was first written on.
FOREIGN_PATH = re.compile(r"""["'](/work/|\.\./shared\b|/home/|/root/)""")


def test_tests_and_benchmarks_use_no_path_outside_the_repository():
    offenders = []
    for folder in ("tests", "bench"):
        for path in sorted((REPO_ROOT / folder).rglob("*.py")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if FOREIGN_PATH.search(line):
                    offenders.append(f"{path.relative_to(REPO_ROOT)}:{number}: {line.strip()}")
    assert offenders == []


def collected(*args: str) -> list[str]:
    """The ids pytest collects from the whole suite with `args` (nothing runs)."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return [line for line in result.stdout.splitlines() if "::" in line]


# Files whose parameters name a SQL dialect, never a server to connect to.
DIALECT_ONLY = (
    "test_urls",
    "test_sqlsplit",
    "test_safety_analyzer",
    "test_safety_corpus",
    "test_safety_objects",
    "test_safety_inputs",
)


def uses_server(test_id: str, engine: str) -> bool:
    """Whether a test id carries `engine` as its engine parameter (the fixtures'
    ids: [mysql], [True-mysql], [mysql-custom-zstd]...). Unit tests use no server
    whatever their parameters say (a [mysql-...] there names a SQL dialect)."""
    if test_id.startswith("tests/unit/"):
        return False
    if test_id.split("::")[0].rpartition("/")[2].removesuffix(".py") in DIALECT_ONLY:
        return False
    params = test_id.partition("[")[2].rstrip("]")
    return engine in params.split("-")


def test_server_markers_select_what_runs_without_servers():
    everything = collected()
    without_mysql = collected("-m", "not mysql")
    without_servers = collected("-m", "not postgresql and not mysql")
    unit = collected("-m", "not integration")
    mysql_ids = [t for t in everything if uses_server(t, "mysql")]
    server_ids = mysql_ids + [t for t in everything if uses_server(t, "postgresql")]
    assert mysql_ids and set(mysql_ids).isdisjoint(without_mysql)
    assert len(without_servers) < len(without_mysql) < len(everything)
    assert set(server_ids).isdisjoint(without_servers)
    # Tests that reach a server without an engine parameter carry the marker themselves.
    assert "tests/integration/cli/test_cli.py::test_bad_password" not in without_mysql
    assert "tests/integration/cli/test_cli.py::test_unreachable_server" in without_servers
    # -m "not integration" is the unit tests alone: exactly tests/unit/.
    assert unit and all(t.startswith("tests/unit/") for t in unit)
    assert set(unit) == {t for t in everything if t.startswith("tests/unit/")}
