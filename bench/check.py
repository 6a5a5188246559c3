"""Safety-check throughput: split + analyse generated migrations, in MB/s.

    python bench/check.py [--mb 1,10] [--shapes inserts,ddl,function] [--dialect postgresql]

Each shape is a realistic migration grown to the size asked:

* inserts:  seed data, one INSERT per row with long string literals (quotes,
            semicolons and dashes inside them);
* ddl:      many small statements (CREATE TABLE, ADD COLUMN, CREATE INDEX,
            ADD FOREIGN KEY, COMMENT) as an ORM's first migration writes them;
* function: one PL/pgSQL function whose dollar-quoted body holds the whole size
            (IF/UPDATE/PERFORM blocks, every inner statement checked).

Target (issue 10): >= 5 MB/s, and linear: the MB/s must not fall as the size
grows. Nothing touches a database; only faber_db.sql.split and faber_db.safety_validator run.
Times are CPU seconds of this process (time.process_time), so that other work
on a shared machine does not inflate them; the check's wall time is shown beside.
"""

from __future__ import annotations

import argparse
import json
import random
import string
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
sys.path.insert(0, str(REPO))

from faber_db.safety_validator.analyzer import analyze_script  # noqa: E402
from faber_db.sql.split import split_sql  # noqa: E402

SHAPES = ("inserts", "ddl", "function")
_TEXT = string.ascii_letters + string.digits + "      ',;-"


def inserts(size: int) -> str:
    """One INSERT per row, each with a 200-2000 character string literal."""
    rng, out, total, i = random.Random(1), [], 0, 0
    while total < size:
        body = "".join(rng.choices(_TEXT, k=rng.randint(200, 2000))).replace("'", "''")
        stmt = (
            f"INSERT INTO posts (id, author_id, title, body, published) "
            f"VALUES ({i}, {i % 97}, 'Post number {i}', '{body}', {str(i % 2 == 0).lower()});\n"
        )
        out.append(stmt)
        total, i = total + len(stmt), i + 1
    return "".join(out)


def ddl(size: int) -> str:
    """Tables with their columns, indexes, foreign keys and comments."""
    out, total, i = [], 0, 0
    while total < size:
        t = i // 5
        stmt = (
            f"-- CreateTable\nCREATE TABLE t{t} (id SERIAL PRIMARY KEY, name VARCHAR(50) NOT NULL, "
            f"created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);\n",
            f"ALTER TABLE t{t} ADD COLUMN score_{i} INTEGER DEFAULT 0;\n",
            f"CREATE INDEX t{t}_name_idx ON t{t} (name);\n",
            f"ALTER TABLE t{t} ADD CONSTRAINT t{t}_parent_fkey FOREIGN KEY (id) "
            f"REFERENCES t{max(t - 1, 0)} (id) ON DELETE CASCADE;\n",
            f"COMMENT ON TABLE t{t} IS 'table {t}; generated';\n",
        )[i % 5]
        out.append(stmt)
        total, i = total + len(stmt), i + 1
    return "".join(out)


def function(size: int) -> str:
    """CREATE FUNCTION ... AS $body$ ... $body$ with a body of about size bytes."""
    parts, total, i = [], 0, 0
    while total < size:
        block = (
            f"  IF counter > {i} THEN\n"
            f"    UPDATE counters SET n = n + 1, touched_at = now() WHERE id = {i};\n"
            f"    PERFORM pg_notify('counters', 'bumped {i}; see log');\n"
            f"  END IF;\n"
        )
        parts.append(block)
        total, i = total + len(block), i + 1
    return (
        "CREATE OR REPLACE FUNCTION bump(counter integer) RETURNS void AS $body$\nBEGIN\n"
        + "".join(parts)
        + "END;\n$body$ LANGUAGE plpgsql;\n"
    )


GENERATORS = {"inserts": inserts, "ddl": ddl, "function": function}


def measure(shape: str, megabytes: float, dialect: str) -> dict:
    """Time split_sql and analyze_script on one generated script."""
    script = GENERATORS[shape](int(megabytes * 1_000_000))
    size = len(script.encode("utf-8"))
    started = time.process_time()
    statements = split_sql(script, dialect)
    split_seconds = time.process_time() - started
    started, wall = time.process_time(), time.perf_counter()
    findings = analyze_script(script, dialect, "bench")
    check_seconds = time.process_time() - started
    wall_seconds = time.perf_counter() - wall
    return {
        "shape": shape,
        "mb": round(size / 1e6, 2),
        "statements": len(statements),
        "findings": len(findings),
        "split_seconds": round(split_seconds, 3),
        "check_seconds": round(check_seconds, 3),
        "check_wall_seconds": round(wall_seconds, 3),
        "split_mb_per_s": round(size / 1e6 / split_seconds, 2),
        "check_mb_per_s": round(size / 1e6 / check_seconds, 2),
    }


def main() -> None:
    """Parse arguments, run every shape at every size, print a table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", default="1,10", help="sizes in MB, comma-separated (default 1,10)")
    parser.add_argument("--shapes", default=",".join(SHAPES))
    parser.add_argument("--dialect", default="postgresql")
    parser.add_argument("--save", action="store_true", help="write bench/results/check.json")
    args = parser.parse_args()
    results = []
    print(
        f"{'shape':<9} {'MB':>6} {'statements':>10} {'split MB/s':>10} {'check CPU s':>11} "
        f"{'wall s':>7} {'check MB/s':>10}"
    )
    for shape in args.shapes.split(","):
        for megabytes in (float(mb) for mb in args.mb.split(",")):
            r = measure(shape, megabytes, args.dialect)
            results.append(r)
            print(
                f"{r['shape']:<9} {r['mb']:>6} {r['statements']:>10} {r['split_mb_per_s']:>10} "
                f"{r['check_seconds']:>11} {r['check_wall_seconds']:>7} {r['check_mb_per_s']:>10}",
                flush=True,
            )
    if args.save:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "check.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
