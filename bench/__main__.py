"""``python -m bench`` (``make bench``): run every benchmark in bench/, one after another.

A benchmark is a module ``bench/<name>.py`` (not starting with ``_``) that defines
``main()``. Each runs in its own process, because libca reads its CA environment once
per process and every benchmark picks private ports. ``python -m bench NAME ...`` runs
only the named ones. The SUMMARY lines are repeated at the end.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

BENCH_DIR = Path(__file__).parent


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


def run(name: str) -> tuple[int, list[str]]:
    """Run ``bench.<name>``, echoing its output; returns its exit code and SUMMARY lines."""
    print(f"== bench.{name}", flush=True)
    start = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", f"bench.{name}"],
        cwd=BENCH_DIR.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    summaries = []
    assert process.stdout is not None
    for line in process.stdout:
        print(line, end="", flush=True)
        if line.startswith("SUMMARY"):
            summaries.append(line.rstrip())
    code = process.wait()
    print(f"== bench.{name}: exit {code} after {time.monotonic() - start:.1f} s\n", flush=True)
    return code, summaries


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
    failed, summaries = [], []
    for name in wanted:
        code, lines = run(name)
        summaries += lines or [f"SUMMARY {name}: no summary line"]
        if code:
            failed.append(name)
    print("\n".join(summaries))
    if failed:
        print(f"benchmarks that failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
