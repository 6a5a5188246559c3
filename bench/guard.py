"""Guard latency: the real hook entry point (hooks/guard.py) over the whole guard
corpus, started the way Claude Code starts it, against Python's own start-up.

    python bench/guard.py [--runs 3] [--python PATH]

Each corpus case is one hook call: a new process, the case's JSON on stdin, the
decision read from stdout. Reported: median and p95 wall time per call for
  - `python -c pass` (the floor: the interpreter's start-up),
  - hooks/guard.py started directly with that interpreter,
  - the hooks.json command line (sh reads <data>/guard-python, then execs it),
  - hooks/guard.py through `python3` found on PATH (a pyenv shim, where there is one).
Targets (issue 14): median <= 50 ms, p95 <= 100 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

from guard_support import CORPUS, ENVIRON, HOOK, build_corpus_project, payload_for  # noqa: E402

RESULTS = REPO / "bench" / "results" / "guard.json"


def percentile(values: list[float], fraction: float) -> float:
    """The value below which `fraction` of the values lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def time_calls(
    argv: list[str], inputs: list[str], env: dict, runs: int, pause: float
) -> list[float]:
    """Wall seconds of each call (every input, `runs` times), `pause` seconds apart."""
    times = []
    for _ in range(runs):
        for text in inputs:
            time.sleep(pause)
            started = time.perf_counter()
            done = subprocess.run(argv, input=text, capture_output=True, text=True, env=env)
            times.append(time.perf_counter() - started)
            if done.returncode != 0:
                raise SystemExit(f"{argv} failed: {done.stderr}")
    return times


def summary(times: list[float]) -> dict:
    """Median and p95 in milliseconds."""
    return {
        "calls": len(times),
        "median_ms": round(statistics.median(times) * 1000, 1),
        "p95_ms": round(percentile(times, 0.95) * 1000, 1),
        "max_ms": round(max(times) * 1000, 1),
    }


def main() -> None:
    """Run the benchmark and write bench/results/guard.json."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="passes over the corpus (default 3)")
    parser.add_argument("--python", default=sys.executable, help="the interpreter the hook uses")
    parser.add_argument(
        "--pause",
        type=float,
        default=0.05,
        help="seconds between calls (default 0.05): real tool calls are seconds apart, and a "
        "denial's audit line is written by a background child after the answer",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = build_corpus_project(Path(scratch) / "project")
        data = Path(scratch) / "data"
        data.mkdir()
        (data / "guard-python").write_text(args.python + "\n")
        inputs = [json.dumps(payload_for(case, root)) for case in CORPUS]
        env = {**ENVIRON, "CLAUDE_PLUGIN_ROOT": str(REPO), "CLAUDE_PLUGIN_DATA": str(data)}
        env["PATH"] = os.environ.get("PATH", ENVIRON["PATH"])
        hooks = json.loads((REPO / "hooks" / "hooks.json").read_text())["hooks"]
        command = hooks["PreToolUse"][0]["hooks"][0]["command"]
        rows = {
            "python -c pass": time_calls(
                [args.python, "-c", "pass"], inputs, env, args.runs, args.pause
            ),
            "guard.py, interpreter started directly": time_calls(
                [args.python, str(HOOK)], inputs, env, args.runs, args.pause
            ),
            "hooks.json command (sh, then exec)": time_calls(
                ["sh", "-c", command], inputs, env, args.runs, args.pause
            ),
        }
        shim = shutil.which("python3", path=env["PATH"])
        if shim and Path(shim).read_bytes()[:2] == b"#!":
            rows[f"guard.py via {shim} (a shim)"] = time_calls(
                [shim, str(HOOK)], inputs, env, 1, args.pause
            )
    report = {
        "python": args.python,
        "pause_seconds": args.pause,
        "cases": len(CORPUS),
        "runs": args.runs,
        "results": {name: summary(times) for name, times in rows.items()},
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"{len(CORPUS)} corpus cases x {args.runs} runs, interpreter {args.python}")
    print(f"{'':42} {'median':>8} {'p95':>8} {'max':>8}")
    for name, row in report["results"].items():
        print(f"{name:42} {row['median_ms']:>6} ms {row['p95_ms']:>6} ms {row['max_ms']:>6} ms")


if __name__ == "__main__":
    main()
