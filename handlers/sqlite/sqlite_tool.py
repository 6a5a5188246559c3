"""SQLite operations for the SQLite handler scripts, using only Python's standard
library (SQLite needs nothing installed beyond Python).

  sqlite_tool.py backup SRC DEST     online backup API: a consistent copy, even while others write
  sqlite_tool.py dump DB             SQL text of DB on stdout (one read transaction; names
                                     only ever quoted, never pasted into SQL)
  sqlite_tool.py check DB            PRAGMA integrity_check; exit 0 when "ok"
  sqlite_tool.py restore SRC DEST    copy SRC into the live DEST in one transaction
  sqlite_tool.py load DB             replay a SQL dump from stdin into a new DB (streamed)
  sqlite_tool.py install SRC DEST    restore SRC into DEST, or rename it there when DEST
                                     does not exist or is not a SQLite database
"""

import io
import os
import sqlite3
import sys

SQLITE_HEADER = b"SQLite format 3\x00"


def backup(source: str, dest: str) -> None:
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=60)
    dst = sqlite3.connect(dest)
    # DEST is a new private file that is checked, compressed and then discarded: a
    # crash only ever loses the copy, so it needs no journal and no fsync (2-3x faster).
    dst.execute("PRAGMA journal_mode=OFF")
    dst.execute("PRAGMA synchronous=OFF")
    with dst:
        src.backup(dst)
    dst.execute("PRAGMA journal_mode=DELETE")
    dst.close()
    src.close()


def dump(path: str) -> None:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=60, isolation_level=None)
    db.execute("BEGIN")
    out = sys.stdout.buffer
    for statement in dump_statements(db):
        out.write(statement.encode("utf-8") + b"\n")
    out.flush()
    db.execute("COMMIT")


def dump_statements(db):
    # Our own dump rather than Connection.iterdump(): up to Python 3.12, iterdump pastes
    # a table's name into a string literal of the query that writes the INSERTs, so a
    # name holding a quote broke the dump, and a crafted one wrote statements of its
    # choosing into it. Here a name is only ever a bound parameter, an identifier
    # quoted by ident(), or a literal made by SQLite's own quote().
    yield "BEGIN TRANSACTION;"
    writable_schema, sequence = False, []
    tables = db.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND sql NOT NULL ORDER BY name"
    ).fetchall()
    for name, sql in tables:
        if name == "sqlite_sequence":
            sequence = ['DELETE FROM "sqlite_sequence";'] + [
                f'INSERT INTO "sqlite_sequence" VALUES({row[0]},{row[1]});'
                for row in db.execute("SELECT quote(name), quote(seq) FROM sqlite_sequence")
            ]
            continue
        if name == "sqlite_stat1":
            yield 'ANALYZE "sqlite_master";'
        elif name.startswith("sqlite_"):
            continue
        elif sql.startswith("CREATE VIRTUAL TABLE"):
            if not writable_schema:
                writable_schema = True
                yield "PRAGMA writable_schema=ON;"
            (quoted_name, quoted_sql) = db.execute(
                "SELECT quote(?), quote(?)", (name, sql)
            ).fetchone()
            yield (
                "INSERT INTO sqlite_master(type,name,tbl_name,rootpage,sql)"
                f"VALUES('table',{quoted_name},{quoted_name},0,{quoted_sql});"
            )
            continue  # its rows live in its shadow tables, dumped as ordinary tables
        else:
            yield f"{sql};"
        yield from insert_statements(db, name)
    # Indexes, triggers and views in creation order (a view may use an earlier one).
    for (sql,) in db.execute(
        "SELECT sql FROM sqlite_master WHERE sql NOT NULL AND type IN ('index', 'trigger', 'view')"
    ):
        yield f"{sql};"
    if writable_schema:
        yield "PRAGMA writable_schema=OFF;"
    yield from sequence  # after every INSERT, which moved the sequence on
    yield "COMMIT;"


def insert_statements(db, table: str):
    columns = [row[0] for row in db.execute("SELECT name FROM pragma_table_info(?)", (table,))]
    if not columns:
        return
    # Without a column list VALUES fills the columns table_info lists (generated ones
    # are not), in order, as iterdump's dumps did.
    prefix = f"INSERT INTO {ident(table)} VALUES("
    values = ",".join(f"quote({ident(c)})" for c in columns)
    for row in db.execute(f"SELECT {values} FROM {ident(table)}"):
        yield prefix + ",".join(row) + ");"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def check(path: str) -> int:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    rows = [row[0] for row in db.execute("PRAGMA integrity_check")]
    if rows == ["ok"]:
        return 0
    print("\n".join(str(r) for r in rows[:20]), file=sys.stderr)
    return 1


def restore(source: str, dest: str) -> None:
    # The backup API writes DEST through SQLite's own locking and journal, so other
    # connections see the old or the new content and a crash rolls back cleanly.
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(dest, timeout=60)
    src.backup(dst)
    dst.close()
    src.close()


def load(dest: str) -> None:
    # One statement at a time, so a dump of any size never sits in memory. Lines keep
    # their own endings (a '\r' inside a value or a name is data). A dump holds no
    # reason to touch another file, and one written by an older faber-db (through
    # iterdump, see dump_statements) may carry statements a hostile table name put
    # there, so ATTACH (and VACUUM INTO, which attaches) is refused.
    db = sqlite3.connect(dest, isolation_level=None)
    refuse_attach(db)
    stream = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", newline="")
    buffer, last = "", ""
    for line in stream:
        buffer += line
        if sqlite3.complete_statement(buffer):
            db.execute(buffer)
            last, buffer = buffer.strip(), ""
    if buffer.strip() or last != "COMMIT;":
        raise sqlite3.DatabaseError("the SQL dump ends before its final COMMIT; (truncated?)")
    db.close()


def refuse_attach(db) -> None:
    if hasattr(db, "setlimit"):  # Python 3.11+: free, where an authorizer costs ~20%
        db.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
    else:
        db.set_authorizer(_no_attach)


def _no_attach(action, *_args) -> int:
    if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH):
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def is_database(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        return False
    return header in (b"", SQLITE_HEADER)


def install(source: str, dest: str) -> None:
    # Copying through the backup API, rather than renaming the new file over the old
    # one, is what keeps other connections safe: a rename leaves them reading the old
    # inode forever, and a stale -wal beside the new file could be replayed onto it.
    # The backup API writes DEST under SQLite's own locks and journal (or WAL), so
    # readers see the old or the new content, and a crash mid-copy rolls back.
    if is_database(dest):
        restore(source, dest)
        return
    # Nothing usable to protect: move the file in atomically, dropping any -wal/-shm
    # that belonged to whatever was there before.
    for suffix in ("-wal", "-shm", "-journal"):
        if os.path.exists(dest + suffix):
            os.unlink(dest + suffix)
    os.replace(source, dest)
    fd = os.open(os.path.dirname(os.path.abspath(dest)), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def main(argv: list[str]) -> int:
    command, *args = argv
    try:
        if command == "backup":
            backup(*args)
        elif command == "dump":
            dump(*args)
        elif command == "check":
            return check(*args)
        elif command == "restore":
            restore(*args)
        elif command == "load":
            load(*args)
        elif command == "install":
            install(*args)
        else:
            print(f"unknown command {command}", file=sys.stderr)
            return 2
    except (sqlite3.Error, OSError) as exc:
        print(f"sqlite3: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
