"""``python -m bench`` (``make bench``): run every benchmark in bench/, one after another.

A benchmark is a module ``bench/<name>.py`` (not starting with ``_``) that defines
``main()``. Each runs in its own process, because libca reads its CA environment once
per process and every benchmark picks private ports. ``python -m bench NAME ...`` runs
only the named ones. The SUMMARY lines are repeated at the end, then one table built
from the benchmarks' ``RESULT {json}`` lines (bench/_result.py): acq against the floor and
against bluesky + ophyd-async. A full run (no names) also writes that table, with the date
and the machine, to docs/benchmarks.md.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bench._result import PREFIX, Result
from bench._table import machine, page, table

BENCH_DIR = Path(__file__).parent
PAGE = BENCH_DIR.parent / "docs" / "benchmarks.md"


def discover() -> list[str]:
    """Names of the modules in bench/ that define a top-level ``main``."""
    names = []
    for path in sorted(BENCH_DIR.glob("*.py")):
        if path.stem.startswith("_"):
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        if any(
            isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == "main"
            for node in tree.body
        ):
            names.append(path.stem)
    return names


def run(name: str) -> tuple[int, list[str], list[Result]]:
    """Run ``bench.<name>``, echoing its output; returns its exit code, SUMMARY lines and
    RESULT rows."""
    print(f"== bench.{name}", flush=True)
    start = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", f"bench.{name}"],
        cwd=BENCH_DIR.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    summaries, results = [], []
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith(PREFIX):
            results.append(Result.parse(line))
            continue
        print(line, end="", flush=True)
        if line.startswith("SUMMARY"):
            summaries.append(line.rstrip())
    code = process.wait()
    print(f"== bench.{name}: exit {code} after {time.monotonic() - start:.1f} s\n", flush=True)
    return code, summaries, results


def main(argv: Sequence[str] | None = None) -> int:
    available = discover()
    wanted = list(sys.argv[1:] if argv is None else argv) or available
    unknown = sorted(set(wanted) - set(available))
    if unknown:
        print(
            f"unknown benchmark(s) {', '.join(unknown)}; available: {', '.join(available)}",
            file=sys.stderr,
        )
        return 2
    failed, summaries, results, others = [], [], [], []
    for name in wanted:
        code, lines, rows = run(name)
        summaries += lines or [f"SUMMARY {name}: no summary line"]
        results += rows
        if not rows:
            others += lines
        if code:
            failed.append(name)
    print("\n".join(summaries))
    print()
    print(table(results))
    if wanted == available:
        PAGE.write_text(page(results, others, failed, machine()))
        print(f"\nwritten to {PAGE}")
    if failed:
        print(f"benchmarks that failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
