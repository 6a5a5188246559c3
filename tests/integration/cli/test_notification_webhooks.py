"""Webhook notifications, received by a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from migration_support import SIMPLE, configure, write_migrations
from support import Project, basic_config, create_database, server_url

PASSWORD = "pw-n0t-for-webhooks"
SECRET_PATH = "/services/T000/B000/s3cr3t-hook-token"


class Receiver:
    """An HTTP server that records every POST and answers `status` (or hangs)."""

    def __init__(self, status: int = 200, hang: bool = False) -> None:
        self.requests: list[dict] = []
        self.status, self.hang = status, hang
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": json.loads(body)}
                )
                if receiver.hang:
                    receiver.release.wait(30)
                    return
                self.send_response(receiver.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{SECRET_PATH}"

    def bodies(self) -> list[dict]:
        return [r["body"] for r in self.requests]

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def notified_project(tmp_path, receiver_url: str, events, fmt="json", **notifications) -> Project:
    database = create_database("sqlite", tmp_path)
    root = tmp_path / "project"
    root.mkdir()
    project = Project(root, {"FABER_TEST_DEV_URL": database.url, "HOOK_URL": receiver_url})
    config = basic_config(dev="FABER_TEST_DEV_URL")
    config["notifications"] = {
        "webhooks": [{"url_env": "HOOK_URL", "events": events, "format": fmt}],
        **notifications,
    }
    project.write_config(config)
    project.database = database
    return project


def audit_lines(project: Project) -> list[dict]:
    path = project.config_dir / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_failed_backup_is_sent_as_json(tmp_path, receiver):
    project = notified_project(tmp_path, receiver.url, ["backup_failed"])
    missing = tmp_path / "gone.db"
    code, out = project.run_json(
        "backup", "dev", env={"FABER_TEST_DEV_URL": f"sqlite:///{missing}"}
    )
    assert code != 0 and out["status"] == "error"
    [request] = receiver.requests
    assert request["path"] == SECRET_PATH
    assert request["headers"]["Content-Type"] == "application/json"
    body = request["body"]
    assert body["event"] == "backup_failed" and body["project"] == "project"
    assert body["result"]["operation"] == "backup" and body["result"]["environment"] == "dev"
    assert body["result"]["error"]["code"] == out["error"]["code"]
    assert body["result"]["message"] == out["message"]
    assert out["warnings"] == []


def test_a_successful_backup_sends_nothing(tmp_path, receiver):
    project = notified_project(tmp_path, receiver.url, ["backup_failed", "approval_required"])
    code, out = project.run_json("backup", "dev")
    assert code == 0, out
    assert receiver.requests == []


def test_slack_format_is_one_line_of_text(tmp_path, receiver):
    project = notified_project(tmp_path, receiver.url, ["backup_failed"], fmt="slack")
    project.run_json("backup", "dev", env={"FABER_TEST_DEV_URL": f"sqlite:///{tmp_path}/x.db"})
    [body] = receiver.bodies()
    assert list(body) == ["text"]
    assert body["text"].startswith("faber-db project: backup failed on dev [")


@pytest.mark.parametrize("engine", ["sqlite", "postgresql", "mysql"])
def test_approval_required_then_migrate_done_on_a_protected_environment(
    engine, make_database, tmp_path, receiver
):
    database = make_database(engine)
    url = database.url
    if engine == "postgresql":
        url = server_url(database.conn, database.conn.database, password=PASSWORD)
    root = tmp_path / "project"
    root.mkdir()
    project = Project(root, {"FABER_TEST_DEV_URL": url, "HOOK_URL": receiver.url})
    project.write_config(basic_config(dev="FABER_TEST_DEV_URL"))
    config = configure(project, engine)
    config["environments"]["production"] = {"connection_string_env": "FABER_TEST_DEV_URL"}
    config["notifications"] = {
        "webhooks": [
            {"url_env": "HOOK_URL", "events": ["approval_required", "migrate_done"]},
            {"url_env": "HOOK_URL", "events": ["migrate_done"], "format": "json"},
        ]
    }
    project.write_config(config)
    write_migrations(project, SIMPLE, engine)
    code, asked = project.run_json("migrate", "production")
    assert asked["status"] == "approval_required", asked
    [approval] = receiver.bodies()
    plan_id = asked["result"]["plan_id"]
    assert approval["text"].startswith("faber-db project: approval required on production")
    assert plan_id in approval["text"]
    code, done = project.run_json("migrate", "production", "--approve", plan_id)
    assert code == 0, done
    texts = [b for b in receiver.bodies()[1:] if "text" in b]
    [as_json] = [b for b in receiver.bodies()[1:] if "event" in b]
    assert len(texts) == 1 and texts[0]["text"].startswith(
        "faber-db project: migrate done on production"
    )
    assert as_json["event"] == "migrate_done"
    assert as_json["result"]["result"]["migrations_applied"] == list(SIMPLE)
    assert (
        as_json["result"]["result"]["pre_migration_backup_id"]
        == done["result"]["pre_migration_backup_id"]
    )
    if engine == "postgresql":  # trust auth: a password in the URL is sent, never shown
        assert PASSWORD not in json.dumps(receiver.bodies())
        assert ":***@" in json.dumps(receiver.bodies())


def test_migrate_on_an_unprotected_environment_sends_no_migrate_done(tmp_path, receiver):
    project = notified_project(tmp_path, receiver.url, ["migrate_done"])
    configure(project, "sqlite")
    write_migrations(project, SIMPLE, "sqlite")
    code, out = project.run_json("migrate", "dev")
    assert code == 0, out
    assert receiver.requests == []


def test_a_server_error_is_retried_once_then_a_warning_and_an_audit_line(tmp_path):
    receiver = Receiver(status=500)
    try:
        project = notified_project(tmp_path, receiver.url, ["backup_failed"])
        bad = {"FABER_TEST_DEV_URL": f"sqlite:///{tmp_path}/missing.db"}
        code, out = project.run_json("backup", "dev", env=bad)
        assert len(receiver.requests) == 2  # one retry
    finally:
        receiver.close()
    [warning] = out["warnings"]
    assert "notification backup_failed to $HOOK_URL failed: HTTP 500" in warning
    assert SECRET_PATH not in json.dumps(out)
    line = audit_lines(project)[-1]
    assert line["operation"] == "notification" and line["result"] == "error"
    assert "HTTP 500" in line["message"] and SECRET_PATH not in json.dumps(audit_lines(project))


def test_a_hanging_webhook_leaves_a_valid_backup_and_a_warning(tmp_path):
    receiver = Receiver(hang=True)
    try:
        project = notified_project(tmp_path, receiver.url, ["migrate_done"], timeout_seconds=1)
        config = configure(project, "sqlite")
        config["environments"]["production"] = {"connection_string_env": "FABER_TEST_DEV_URL"}
        project.write_config(config)
        write_migrations(project, SIMPLE, "sqlite")
        code, asked = project.run_json("migrate", "production")
        assert asked["status"] == "approval_required" and receiver.requests == []
        started = time.monotonic()
        code, out = project.run_json(
            "migrate", "production", "--approve", asked["result"]["plan_id"]
        )
        elapsed = time.monotonic() - started
    finally:
        receiver.close()
    assert code == 0 and out["result"]["migrations_applied"] == list(SIMPLE), out
    assert len(receiver.requests) == 1  # the deadline left no time for a retry
    assert any(
        "notification migrate_done" in w and "no answer within 1s" in w for w in out["warnings"]
    )
    print(f"hanging webhook, 1 s budget: migrate with its backup took {elapsed:.2f}s")
    [entry] = project.catalogue()["backups"]
    assert entry["id"] == out["result"]["pre_migration_backup_id"] and entry["status"] == "valid"
    assert project.run_json("backups", "verify", entry["id"])[0] == 0


def test_restore_done_is_sent(tmp_path, receiver):
    project = notified_project(tmp_path, receiver.url, ["restore_done", "rollback_done"])
    code, backup = project.run_json("backup", "dev")
    assert code == 0, backup
    code, out = project.run_json("restore", "dev", "--from", backup["result"]["backup_id"], "--yes")
    assert code == 0, out
    [body] = receiver.bodies()
    assert body["event"] == "restore_done" and body["result"]["operation"] == "restore"
    assert body["result"]["environment"] == "dev"


def test_a_refused_connection_and_an_unset_variable_are_warnings(tmp_path):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    project = notified_project(tmp_path, f"http://127.0.0.1:{port}/hook", ["backup_failed"])
    config = json.loads((project.config_dir / "config.json").read_text())
    config["notifications"]["webhooks"].append(
        {"url_env": "UNSET_HOOK", "events": ["backup_failed"]}
    )
    project.write_config(config)
    bad = {"FABER_TEST_DEV_URL": f"sqlite:///{tmp_path}/missing.db"}
    code, out = project.run_json("backup", "dev", env=bad)
    assert out["status"] == "error" and out["error"]["code"] != "notification_failed"
    assert any("$HOOK_URL failed: " in w and "refused" in w.lower() for w in out["warnings"]), out
    assert any("$UNSET_HOOK is not set" in w for w in out["warnings"]), out


def test_a_failing_scheduled_backup_is_reported_once_per_streak(tmp_path, receiver):
    project = notified_project(tmp_path, receiver.url, ["backup_failed"])
    config = json.loads((project.config_dir / "config.json").read_text())
    config["backup"] = {"schedule": {"dev": "hourly"}}
    project.write_config(config)
    bad = {"FABER_TEST_DEV_URL": f"sqlite:///{tmp_path}/missing.db"}
    code, first = project.run_json("backup", "dev", "--if-due", env=bad)
    code, second = project.run_json("backup", "dev", "--if-due", env=bad)
    assert first["status"] == second["status"] == "error"
    assert first["result"]["consecutive_failures"] == 1 and first["result"]["notify"] is True
    assert second["result"]["consecutive_failures"] == 2 and second["result"]["notify"] is False
    assert second["result"]["failing_since"] == first["result"]["failing_since"]
    assert len(receiver.requests) == 1  # the timer's retry 5 minutes later is not a new message
    code, fixed = project.run_json("backup", "dev", "--if-due")
    assert code == 0 and fixed["result"]["due"] is True, fixed
    assert not (project.config_dir / "state" / "schedule" / "dev.json").exists()
    code, again = project.run_json("backup", "dev", "--if-due", env=bad)
    assert code == 0 and again["result"]["due"] is False  # not due: nothing tried, nothing sent
    assert len(receiver.requests) == 1
