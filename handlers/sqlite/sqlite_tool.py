"""SQLite operations for the SQLite handler scripts, using only Python's standard
library (SQLite needs nothing installed beyond Python).

  sqlite_tool.py backup SRC DEST     online backup API: a consistent copy, even while others write
  sqlite_tool.py dump DB             SQL text of DB on stdout (one read transaction)
  sqlite_tool.py check DB            PRAGMA integrity_check; exit 0 when "ok"
  sqlite_tool.py restore SRC DEST    copy SRC into the live DEST in one transaction
  sqlite_tool.py load DB             replay a SQL dump from stdin into a new DB (streamed)
  sqlite_tool.py install SRC DEST    restore SRC into DEST, or rename it there when DEST
                                     does not exist or is not a SQLite database
"""

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
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=60)
    out = sys.stdout
    for line in db.iterdump():
        out.write(line)
        out.write("\n")
    out.flush()


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
    # One statement at a time, so a dump of any size never sits in memory.
    db = sqlite3.connect(dest, isolation_level=None)
    buffer, last = "", ""
    for line in sys.stdin:
        buffer += line
        if sqlite3.complete_statement(buffer):
            db.execute(buffer)
            last, buffer = buffer.strip(), ""
    if buffer.strip() or last != "COMMIT;":
        raise sqlite3.DatabaseError("the SQL dump ends before its final COMMIT; (truncated?)")
    db.close()


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
