"""A MySQL/MariaDB restore re-creates views, triggers, routines and events exactly as
they were created: with their sql_mode, character_set_client and collation_connection,
so that a dump of the restored database equals a dump of the original."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

DUMP_TOOL = shutil.which("mariadb-dump") or shutil.which("mysqldump")
CLIENT = shutil.which("mariadb") or shutil.which("mysql")

OBJECTS = """
CREATE TABLE orders (id INT PRIMARY KEY, total INT, note VARCHAR(40));
INSERT INTO orders VALUES (1, 5, 'caf\u00e9'), (2, 50, 'na\u00efve');
CREATE VIEW big_orders AS SELECT id, total FROM orders WHERE total > 10;
CREATE TRIGGER orders_note BEFORE INSERT ON orders FOR EACH ROW SET NEW.note = CONCAT(NEW.note, '\u2713');
CREATE FUNCTION answer() RETURNS INT DETERMINISTIC RETURN 42;
CREATE PROCEDURE count_orders() SELECT COUNT(*) FROM orders;
CREATE EVENT nightly ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00' DISABLE DO DELETE FROM orders WHERE total < 0;
"""


def _client_args(database) -> list[str]:
    conn = database.conn
    return ["-h", conn.host, "-P", str(conn.port), "-u", conn.user]


def _dump(database) -> str:
    text = subprocess.run(
        [
            DUMP_TOOL,
            *_client_args(database),
            "--routines",
            "--triggers",
            "--events",
            "--skip-dump-date",
            database.conn.database,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return re.sub(r"^-- (MariaDB|MySQL) dump .*$", "", text, flags=re.M)


@pytest.mark.parametrize("engine_name", ["mysql"], indirect=True)
def test_a_rolled_back_database_dumps_byte_for_byte_as_the_original(project):
    database = project.database
    # Created the way an older client would: utf8mb3 and a non-default sql_mode.
    subprocess.run(
        [
            CLIENT,
            *_client_args(database),
            "--default-character-set=utf8mb3",
            "--init-command=SET SESSION sql_mode = 'ANSI_QUOTES,STRICT_TRANS_TABLES'",
            database.conn.database,
        ],
        input=OBJECTS.replace(";\nCREATE", ";\nCREATE").replace("\n", "\n"),
        text=True,
        check=True,
        capture_output=True,
    )
    before = _dump(database)
    assert "utf8mb3" in before and "ANSI_QUOTES" in before
    code, out = project.run_json("backup", "dev")
    assert code == 0, out
    database.execute("INSERT INTO orders VALUES (3, 7, 'later')")
    code, out = project.run_json("rollback", "dev", "--yes")
    assert code == 0, out
    assert not [w for w in out["warnings"] if "definer" in w.lower()], out["warnings"]
    after = _dump(database)
    assert after == before


@pytest.mark.parametrize("engine_name", ["mysql"], indirect=True)
def test_a_definer_the_restoring_user_may_not_set_becomes_a_note(database):
    from support import server_url, unique_name

    from faber_db.engines import engine_for
    from faber_db.engines.mysql import objects as mysql_objects
    from faber_db.urls import parse_url

    user, password = unique_name("faber_u"), "pw-" + unique_name("x")
    schema = database.conn.database
    database.script(
        [
            "CREATE TABLE t (id INT)",
            "CREATE DEFINER=`root`@`localhost` TRIGGER t_ins BEFORE INSERT ON t"
            " FOR EACH ROW SET NEW.id = NEW.id + 1",
            f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'",
            f"GRANT ALL ON `{schema}`.* TO '{user}'@'%'",
        ]
    )
    try:
        limited = engine_for(
            parse_url(server_url(database.conn, schema, user=user, password=password))
        )
        with limited.session() as db:
            (trigger,) = mysql_objects.capture(limited, db, schema, schema, ("trigger",))
            note = mysql_objects.create(limited, db, schema, trigger)
            assert note and "definer" in note
            (definer,) = limited.query(
                db,
                "SELECT DEFINER FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %s",
                (schema,),
            )[0]
            assert definer.startswith(user + "@")
            limited.query(db, "INSERT INTO t VALUES (1)")
            assert limited.query(db, "SELECT id FROM t") == [(2,)]
    finally:
        database.execute(f"DROP USER IF EXISTS '{user}'@'%'")
