"""SQLite operations for the SQLite handler scripts, using only Python's standard
library (SQLite needs nothing installed beyond Python).

  sqlite_tool.py backup SRC DEST     online backup API: a consistent copy, even while others write
  sqlite_tool.py dump DB             SQL text of DB on stdout (one read transaction)
  sqlite_tool.py check DB            PRAGMA integrity_check; exit 0 when "ok"
  sqlite_tool.py restore SRC DEST    copy SRC into the live DEST in one transaction
"""

import sqlite3
import sys


def backup(source: str, dest: str) -> None:
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=60)
    dst = sqlite3.connect(dest)
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
        else:
            print(f"unknown command {command}", file=sys.stderr)
            return 2
    except sqlite3.Error as exc:
        print(f"sqlite3: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
