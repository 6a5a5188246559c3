"""handler_error and telling_line: a handler's error object and stderr become a
typed error that says what happened (no handler or server runs here)."""

from __future__ import annotations

from faber_db.handler_runner import handler_error, handler_paths_env, telling_line


def failed(code: str, message: str = "pg_dump failed", **extra) -> dict:
    return {"status": "error", "error": {"code": code, "message": message}, **extra}


def test_a_missing_tool_is_tool_missing_with_how_to_install_it():
    error = handler_error(failed("tool_missing", "pg_dump not found", tool="pg_dump"), [], "h")
    assert error.code == "tool_missing"
    assert error.message == "pg_dump not found"
    assert "postgresql-client" in error.suggestions[0]


def test_an_unsupported_option_keeps_its_code():
    error = handler_error(failed("unsupported_option", "--jobs needs directory"), [], "h")
    assert error.code == "unsupported_option"
    assert error.message == "--jobs needs directory"


def test_a_full_disk_is_named_whatever_the_tool_said():
    for line in ("pg_dump: error: could not write: No space left on device", "Errno 28"):
        error = handler_error(failed("tool_failed"), ["starting", line], "create-backup.sh")
        assert error.code == "disk_full"
        assert "create-backup.sh" in error.message
        assert any("prune" in s for s in error.suggestions)
        assert error.details["stderr"] == ["starting", line]


def test_another_failure_quotes_the_line_that_explains_it():
    stderr = ['psql:x:3: ERROR:  relation "t" does not exist', "LINE 1: SELECT * FROM t", "   ^"]
    error = handler_error(failed("tool_failed", "psql failed"), stderr, "h")
    assert error.code == "tool_failed"
    assert error.message == 'psql failed: psql:x:3: ERROR:  relation "t" does not exist'
    assert error.details["stderr"] == stderr


def test_a_failure_without_stderr_is_the_message_alone():
    error = handler_error(failed("tool_failed", "killed"), [], "h")
    assert error.code == "tool_failed"
    assert error.message == "killed"


def test_only_the_last_ten_stderr_lines_decide_a_full_disk():
    stderr = ["No space left on device"] + ["noise"] * 10
    assert handler_error(failed("tool_failed"), stderr, "h").code == "tool_failed"


def test_telling_line_is_the_last_error_line_else_the_last_line():
    assert telling_line(["a", "ERROR: first", "ERROR: second", "CONTEXT: x"]) == "ERROR: second"
    assert (
        telling_line(["mysqldump: error: 1045 denied  ", "tail"]) == "mysqldump: error: 1045 denied"
    )
    assert telling_line(["one", "  two  "]) == "two"


def test_handler_paths_env_names_variables_and_skips_none():
    env = handler_paths_env(file="/b/x.dump", work_dir=None, jobs=2)
    assert env == {"FABER_FILE": "/b/x.dump", "FABER_JOBS": "2"}
